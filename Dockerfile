# One image per role, from the same sources (see docker-compose.yml).
# The apps run their TypeScript through SWC (@swc-node/register), which emits the decorator
# metadata Nest and TypeORM read; there is no separate build step.
FROM node:20.20-bookworm-slim AS app
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false
# .npmrc: onnxruntime-node's install script must not try to download a CUDA provider.
COPY package.json package-lock.json .npmrc ./
COPY libs/contracts/package.json libs/contracts/
COPY libs/db/package.json libs/db/
COPY libs/sim/package.json libs/sim/
COPY libs/fusion/package.json libs/fusion/
COPY libs/observability/package.json libs/observability/
COPY libs/model/package.json libs/model/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/dashboard-e2e/package.json apps/dashboard-e2e/
COPY migrations/package.json migrations/
COPY cli/package.json cli/
# tfjs-node(-gpu) are optional: their install may fail without their native library; the CPU
# images do not need them. onnxruntime-node (optional too) ships its CPU library in the package:
# the fusion similarity kernel.
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY libs libs
COPY apps apps
COPY migrations migrations
COPY cli cli
RUN mkdir -p /data/storage && chown node:node /data/storage
USER node

FROM app AS api
WORKDIR /app/apps/api
EXPOSE 3000
CMD ["node", "-r", "@swc-node/register", "src/main.ts"]

FROM app AS worker
WORKDIR /app/apps/worker
CMD ["node", "-r", "@swc-node/register", "src/main.ts"]

# GPU worker: CUDA 11.8 + cuDNN 8 runtime for @tensorflow/tfjs-node-gpu (libtensorflow 2.9).
# Second route, from the npm registry alone (experimental, KVPLAN_TF_BACKEND=webgpu): tfjs's
# WebGPU backend on Dawn's Node binding (the `webgpu` package ships dawn.node). Dawn drives the
# GPU through Vulkan: the image has the Vulkan loader (libvulkan1); the host must expose NVIDIA's
# Vulkan ICD, which the NVIDIA container toolkit mounts when NVIDIA_DRIVER_CAPABILITIES includes
# `graphics` (docker-compose.yml sets it). WebGPU under Node has no synchronous read: the
# similarity products then run on KVPLAN_SIMILARITY_KERNEL=tfjs-async (awaited product by product).
# `npm run check:gpu` says which routes run.
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 AS worker-gpu
RUN apt-get update && apt-get install -y --no-install-recommends libvulkan1 && rm -rf /var/lib/apt/lists/*
COPY --from=app /usr/local/bin/node /usr/local/bin/node
COPY --from=app /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && groupadd -r node && useradd -r -g node -m node
WORKDIR /app
COPY --from=app --chown=node:node /app /app
# Here the optional native package must install: run its install script (downloads libtensorflow).
RUN npm rebuild @tensorflow/tfjs-node-gpu --foreground-scripts
RUN npm install --no-save --no-audit --no-fund webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0
RUN mkdir -p /data/storage && chown node:node /data/storage
USER node
WORKDIR /app/apps/worker
ENV KVPLAN_TF_BACKEND=node-gpu
CMD ["node", "-r", "@swc-node/register", "src/main.ts"]
