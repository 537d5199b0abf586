# One image for web, worker and beat; the command differs per service (docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY mailguard ./mailguard
COPY approvals ./approvals
RUN pip install --no-cache-dir . gunicorn==27.0.1
COPY . .
RUN MAILGUARD_SECRET_KEY=build-only python manage.py collectstatic --no-input
RUN useradd --create-home mailguard && mkdir -p /data && chown mailguard /data
USER mailguard
EXPOSE 8000
# --timeout 120: a workbook may use up to 60 s of CPU before it is refused, more than gunicorn's default 30 s.
CMD ["gunicorn", "mailguard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
