# One image for every process of the platform; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/var/lib/gbplatform
WORKDIR /app

COPY pyproject.toml requirements.lock README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && mkdir -p "$VAR_DIR" \
    && SECRET_KEY=build SIP_PASSWORD=build python manage.py collectstatic --noinput --verbosity 0

EXPOSE 8000 5060/udp 5060/tcp
CMD ["python", "-m", "gbplatform.serve"]
