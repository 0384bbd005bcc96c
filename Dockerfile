# One image for every container of the compose lab (docker-compose.yml): router, ISP, internet
# host, client and the alternate gateways. Built by `docker compose up --build`; not built in CI.
FROM python:3.11-slim

RUN apt-get update \
	&& apt-get install -y --no-install-recommends iproute2 nftables procps \
	&& rm -rf /var/lib/apt/lists/*

WORKDIR /opt/failover
# Only what the project needs (no .venv, no tests): the package, the Lunatik scripts, conf/.
COPY pyproject.toml README.md ./
COPY failover ./failover
COPY api ./api
COPY kernel ./kernel
COPY conf ./conf
# Editable, as `make install` does: the host's Lua files and kernel/ are read from this tree.
RUN pip install --no-cache-dir -e .

# Each service sets its own entrypoint (conf/compose/lab-net.sh) and command.
CMD ["failover", "--help"]
