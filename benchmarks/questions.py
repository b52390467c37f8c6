"""The benchmark's own question mix (not the evaluation set): what real users type.

Each entry is (category, text). Categories:
- "real": in-scope questions phrased the way people write them, short and long;
- "typo": in-scope questions with misspellings, missing spaces and sloppy casing;
- "oos": out-of-scope questions, some close to the domain (coding help, other jobs);
- "smalltalk": greetings, thanks, who-are-you;
- "multi": several questions in one message (each sentence is matched, then the whole).
"""

from __future__ import annotations

QUESTIONS: tuple[tuple[str, str], ...] = (
    # --- real-looking, in scope ---------------------------------------------------------
    ("real", "what does a backend developer actually do"),
    ("real", "How much money can I make as a back-end dev in my first job?"),
    ("real", "whats the salary of a senior backend engineer"),
    ("real", "is backend harder than frontend?"),
    ("real", "Which language would you recommend to start with for server side stuff"),
    ("real", "do backend devs need a computer science degree or can I get hired without one"),
    ("real", "what frameworks are popular for php backends"),
    ("real", "Is Django a good choice for backend web development?"),
    ("real", "which databases should I learn, postgres or mongo?"),
    ("real", "do I have to know SQL to work in backend?"),
    ("real", "can a backend engineer grow into a CTO role one day"),
    ("real", "how do I become a tech lead after a few years of backend work"),
    ("real", "What kind of companies hire backend people?"),
    ("real", "Do banks and insurance companies employ backend developers?"),
    ("real", "what skills are needed to be a good backend programmer"),
    ("real", "is git mandatory for backend jobs"),
    ("real", "what personal qualities make a great back end developer"),
    ("real", "who does the backend developer work with every day"),
    ("real", "does the backend dev manage the servers or is that the sysadmin's job"),
    ("real", "can I teach myself backend development with online courses"),
    ("real", "are coding bootcamps worth it for becoming a backend developer"),
    ("real", "which schools are best for studying backend development"),
    ("real", "what is the difference between full stack and backend"),
    ("real", "I'm 35 and working in retail, is it too late to switch careers and become a backend developer? How would I start?"),
    ("real", "how important is english for a backend developer who lives in France"),
    ("real", "what are the main parts of a web application's back end"),
    ("real", "will backend developers still be needed in ten years with all the AI tools"),
    ("real", "what is a CMS and does a backend dev use one"),
    ("real", "why would I use a framework instead of writing everything myself"),
    ("real", "do backend devs have to care about security and data protection"),
    ("real", "is it better to master one language or know a bit of everything"),
    ("real", "what responsibilities does a backend developer have in a project"),
    ("real", "what are other job titles for backend developer"),
    ("real", "what is the purpose of a backend developer in a company"),
    ("real", "how much does a junior backend developer earn"),
    ("real", "Which Java frameworks do backend engineers use?"),
    ("real", "what determines how much a backend developer is paid"),
    ("real", "does a backend developer take part in architecture decisions"),
    ("real", "what's SQL used for"),
    ("real", "which programming languages are used on the server side"),
    # --- typos and sloppy writing ---------------------------------------------------------
    ("typo", "waht does a bakend developper do"),
    ("typo", "how mutch do backend develoeprs earn"),
    ("typo", "salery of a seniour backend engeneer"),
    ("typo", "wich langage shoud i lern frist for backend"),
    ("typo", "diference betwen frontend and bakend"),
    ("typo", "do i need a degre to becom a backend dev"),
    ("typo", "best framworks for pyhton backend"),
    ("typo", "wat databse shoud a backend dev knwo"),
    ("typo", "can i becme CTO as a backend programer"),
    ("typo", "HOW DO I BECOME A BACKEND DEVELOPER????"),
    ("typo", "is englsh neccesary for backend jobs"),
    ("typo", "securty responsibilites of backend developpers"),
    ("typo", "backenddeveloper salary"),
    ("typo", "skils needed for back end developement"),
    ("typo", "fullstack vs backend whats teh diffrence"),
    ("typo", "who hirse backend enginers"),
    ("typo", "bootcmap for backend worth it?"),
    ("typo", "sefl taught backend dev possible?"),
    ("typo", "git requried for backend??"),
    ("typo", "qualites of a good bakend dev"),
    # --- out of scope -----------------------------------------------------------------------
    ("oos", "how do I bake a chocolate cake"),
    ("oos", "what's the weather like in Paris tomorrow"),
    ("oos", "how much does a dentist earn"),
    ("oos", "fix my python code it throws a KeyError"),
    ("oos", "write me a SQL query that joins two tables"),
    ("oos", "who won the football world cup in 2018"),
    ("oos", "how do I center a div in css"),
    ("oos", "what is the salary of a nurse in Germany"),
    ("oos", "recommend me a good movie for tonight"),
    ("oos", "how to install docker on windows"),
    ("oos", "what is the capital of Australia"),
    ("oos", "can you book a flight to London for me"),
    ("oos", "how do airline pilots get trained"),
    ("oos", "translate hello into spanish"),
    ("oos", "is bitcoin a good investment right now"),
    ("oos", "my laptop does not turn on anymore, what should I do"),
    ("oos", "explain quantum computing in simple words"),
    ("oos", "how many calories are in a banana"),
    ("oos", "what does a frontend designer charge for a logo"),
    ("oos", "asdkjh qwe zzzz"),
    # --- small talk ---------------------------------------------------------------------------
    ("smalltalk", "hello there"),
    ("smalltalk", "hi!"),
    ("smalltalk", "thanks a lot, that helped"),
    ("smalltalk", "ok bye"),
    ("smalltalk", "who are you?"),
    ("smalltalk", "are you a real person"),
    ("smalltalk", "what can you do"),
    ("smalltalk", "good morning"),
    # --- several questions in one message -------------------------------------------------------
    ("multi", "Hi! What does a backend developer do? And how much do they earn?"),
    ("multi", "I'm thinking about a career change. Which language should I learn first? Do I need a degree?"),
    ("multi", "What is SQL? Which databases are used most? Thanks!"),
    ("multi", "Is backend a good career for the future? Can I learn it on my own? What about bootcamps?"),
)


def texts() -> list[str]:
    return [text for _, text in QUESTIONS]
