"""Password hashing (密码散列): production hashes with argon2id at argon2-cffi's default parameters
(RFC 9106 low-memory: 64 MiB, 3 passes, 4 lanes). The other tests hash with cheap parameters; this
one checks what production uses."""

from __future__ import annotations

from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from zizhu.domain.accounts import passwords


async def test_production_hashes_with_the_default_argon2id_parameters():
    assert passwords._hasher.time_cost == RFC_9106_LOW_MEMORY.time_cost == 3
    assert passwords._hasher.memory_cost == RFC_9106_LOW_MEMORY.memory_cost == 65536
    assert passwords._hasher.parallelism == RFC_9106_LOW_MEMORY.parallelism == 4
    hashed = await passwords.hash_password("Zizhu-test-2024")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert extract_parameters(hashed) == RFC_9106_LOW_MEMORY  # argon2id, salt and hash lengths too
    assert await passwords.check_password(hashed, "Zizhu-test-2024")
    assert not await passwords.check_password(hashed, "wrong")
