"""The sweep's Dask settings (comparisons/sweep_run.py): results fetched directly only from workers on
this machine's loopback interface, and the quieter housekeeping reaching the workers of the LocalCluster a
sweep starts (a real one)."""

from __future__ import annotations

import dask
import pytest

from comparisons.sweep_run import QUIET_CONFIG, _all_local, local_cluster


@pytest.mark.parametrize("addresses, expected", [
    (["tcp://127.0.0.1:40001", "tcp://127.0.0.1:40002"], True),
    (["tcp://[::1]:40001"], True),
    (["tcp://127.0.0.1:40001", "tcp://10.0.0.5:40002"], False),   # one remote worker: through the scheduler
    (["tcp://worker-3.cluster:40001"], False),                   # a host name is not known to be local
    (["inproc://10.0.0.5/1234/1"], False),
    ([], False),
])
def test_direct_gathering_only_from_loopback_workers(addresses, expected):
    assert _all_local({a: {} for a in addresses}) is expected


def _settings():
    return {key: dask.config.get(key) for key in QUIET_CONFIG}


def test_the_sweeps_local_cluster_gives_its_workers_the_quiet_settings():
    from distributed import Client
    cluster = local_cluster(1)
    try:
        with Client(cluster) as client:
            on_workers = client.run(_settings)
            assert _all_local(client.scheduler_info()["workers"])
    finally:
        cluster.close()
    assert list(on_workers.values()) == [QUIET_CONFIG]
    assert QUIET_CONFIG["distributed.worker.profile.enabled"] is False
