# The web app and the dispatcher share this image; compose picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY platform ./platform
RUN pip install --no-cache-dir .
COPY wsgi.py ./
RUN mkdir -p /app/instance && useradd --system --home /app teletherapy && chown teletherapy /app/instance
USER teletherapy
EXPOSE 8000
CMD ["gunicorn", "--workers", "4", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "wsgi:app"]
