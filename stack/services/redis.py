"""Redis from Debian's ``redis-server``: the online feature cache."""

from __future__ import annotations

import shutil

import redis

from stack.service import LocalService, ServiceError


class RedisService(LocalService):
    name = "redis"
    typical_start_s = 0.5

    def command(self) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError(self.name, "redis-server is not installed: run `lakehouse stack install`")
        # The cache is rebuilt from Delta by materialisation, so no persistence: restarts stay instant.
        return [
            binary,
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--maxmemory",
            "512mb",
        ]

    def check(self, timeout_s: float = 5.0) -> str:
        client = redis.Redis.from_url(
            self.settings.redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        try:
            client.ping()
            return f"Redis {client.info('server')['redis_version']}"
        finally:
            client.close()
