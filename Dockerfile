FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY allocation allocation
COPY api api
COPY models models
COPY fixtures fixtures
COPY migrations migrations
RUN pip install --no-cache-dir .
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["tobacco-alloc", "serve"]
