# The operator image: `hotmesh operator` by default. The operator also starts each HotMeshApp's
# engine Deployment with this image and the command `hotmesh engine`, so `hotmesh` is on PATH.
#   docker build -t hotmesh-operator:0.1.0 .
# NODE_VERSION matches the `node` devDependency in package.json; a test checks it.
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied, and the `node`
# devDependency would download a second Node; its shim is removed so npm scripts use the image's.
RUN npm ci --ignore-scripts && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && chmod 0755 dist/cli/main.js

FROM node:${NODE_VERSION}-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY crds ./crds
RUN ln -s /app/dist/cli/main.js /usr/local/bin/hotmesh
# The node user of the base image, by number so runAsNonRoot can verify it.
USER 1000:1000
ENTRYPOINT ["hotmesh"]
CMD ["operator"]
