# One image for both the worker and the API; the command picks the role.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Pango and a font for WeasyPrint's PDF rendering
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md alembic.ini ./
COPY arrears ./arrears
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY models ./models
COPY policies ./policies
COPY migrations ./migrations
COPY docs_templates ./docs_templates
RUN pip install --no-cache-dir . && useradd --system --uid 10001 arrears
USER arrears
ENV ENVIRONMENT=production
CMD ["arrears", "api"]
