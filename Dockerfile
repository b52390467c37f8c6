# faqbot: the Telegram FAQ bot. Build: docker build -t faqbot .
# Run:   docker run -d --env-file .env -v faqbot-data:/data faqbot
# Knowledge base: mount your own intents/ and content/ over /kb (FAQBOT_KB) to update it without rebuilding.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FAQBOT_KB=/kb \
    FAQBOT_DATA_DIR=/data

WORKDIR /app

# Dependencies first, from pyproject.toml only: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -r requirements.txt

# Then the code (no dependency resolution: they are installed above).
COPY bot/ ./bot/
RUN touch README.md && pip install --no-deps . && rm -rf build ./*.egg-info

# The shipped knowledge base; mount a folder with intents/ and content/ over /kb to replace it.
COPY intents/ /kb/intents/
COPY content/ /kb/content/

RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin faqbot \
    && mkdir -p /data \
    && chown 10001:10001 /data
USER 10001:10001

# The SQLite log and the heartbeat file live here.
VOLUME ["/data"]
# Webhook mode listens here (WEBHOOK_PORT); polling mode needs no port.
EXPOSE 8443

# Healthy while the bot refreshes /data/heartbeat (every 15 s while it is connected and serving).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["faqbot", "health"]

# SIGTERM: stop fetching, answer what is under way (at most 6 s), confirm it, close the log.
# Give it Docker's default 10 s grace (docker run --stop-timeout 10, Compose stop_grace_period: 10s);
# whatever is cut off is not confirmed to Telegram and comes back at the next start.
STOPSIGNAL SIGTERM

CMD ["faqbot", "run"]
