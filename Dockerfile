# zizhu: the API and the worker in one image (multi-stage, non-root, pinned dependencies).
#   docker build -t zizhu .
# The dependency versions come from constraints.txt; the build stage needs the package index,
# the running containers never do.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY api ./api
COPY domain ./domain
COPY workers ./workers
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint constraints.txt .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TZ=Asia/Shanghai \
    ZIZHU_ENV=production
COPY --from=build /wheels /wheels
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir --no-index --find-links /wheels --constraint /tmp/constraints.txt zizhu \
    && rm -rf /wheels /tmp/constraints.txt \
    && groupadd --system --gid 10001 zizhu \
    && useradd --system --uid 10001 --gid zizhu --create-home --home-dir /home/zizhu zizhu
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/zizhu-entrypoint
USER 10001:10001
WORKDIR /home/zizhu
EXPOSE 8000
ENTRYPOINT ["zizhu-entrypoint"]
CMD ["api"]
