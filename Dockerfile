# faqbot: the Telegram FAQ bot. Build: docker build -t faqbot .
# Run:   docker run -d --env-file .env -v faqbot-data:/data faqbot
# Knowledge base: mount your own intents/ and content/ over /kb (FAQBOT_KB) to update it without rebuilding.
# Base image by full version tag (3.11.14 on Debian bookworm); no registry digest could be looked up when this
# was written: pin it with `FROM python:3.11.14-slim-bookworm@sha256:...` (`docker buildx imagetools inspect`).
FROM python:3.11.14-slim-bookworm

# PYTHONOPTIMIZE=2: docstrings and asserts are not kept in memory (4 MB less for the running bot,
# `python -m benchmarks.memory_users`); set before the installs, so pip compiles the matching .opt-2.pyc files.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONOPTIMIZE=2 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FAQBOT_KB=/kb \
    FAQBOT_DATA_DIR=/data \
    FAQBOT_CACHE_DIR=/app/cache

WORKDIR /app

# Dependencies first, from the lock file with hashes (requirements.lock): this layer is rebuilt only when it changes,
# and pip refuses any file whose hash differs. Refresh it with .ci/lock (see the README).
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Then the code: no dependency resolution and no build isolation (setuptools comes from the lock too).
COPY pyproject.toml ./
COPY bot/ ./bot/
RUN touch README.md && pip install --no-deps --no-build-isolation . && rm -rf build ./*.egg-info

# The shipped knowledge base; mount a folder with intents/ and content/ over /kb to replace it.
COPY intents/ /kb/intents/
COPY content/ /kb/content/
# Build the quantised copy of the model and embed every example once at build time (both from the lock's
# packages, into FAQBOT_CACHE_DIR), so the bot starts warm;
# a mounted knowledge base embeds only its new phrasings, kept in memory.
RUN faqbot validate

RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin faqbot \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chown -R 10001:10001 /app/cache
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
