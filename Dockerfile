FROM python:3.11-slim
WORKDIR /app
# dependencies first, in their own layer: a source change does not reinstall OR-Tools and pandas;
# the runtime ones only, at the exact versions of requirements.lock
COPY pyproject.toml README.md requirements.lock ./
RUN python -c "import subprocess, sys, tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--no-cache-dir', '-c', 'requirements.lock', *deps])"
COPY allocation allocation
COPY api api
COPY executor executor
COPY models models
COPY fixtures fixtures
COPY migrations migrations
RUN pip install --no-cache-dir --no-deps .
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["tobacco-alloc", "serve"]
