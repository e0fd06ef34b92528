# Build a wheel in one stage, run it as a non-root user in the next. The production image has
# no embedded PostgreSQL (the `embedded` extra is for laptops): DATABASE_URL is required.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY schema schema
COPY resolvers resolvers
COPY db db
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 plangruppe
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# Numeric, so the host and Kubernetes' runAsNonRoot can tell it is not root.
USER 10001
ENV PLANGRUPPE_ENV=production \
    PLANGRUPPE_DATA_DIR=/home/plangruppe/data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
# DATABASE_URL, PLANGRUPPE_SECRET_KEY, SMTP_* and SMS_* come from the environment (it refuses
# to start without them), PLANGRUPPE_TRUSTED_PROXIES too behind a reverse proxy:
# docs/operations.md. `docker stop` (SIGTERM) stops it gracefully; no init process needed.
CMD ["plangruppe", "serve", "--host", "0.0.0.0", "--port", "8000"]
