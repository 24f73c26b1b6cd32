"""The sweep's Dask settings (comparisons/sweep_run.py): the quieter housekeeping reaches the workers of the
LocalCluster a sweep starts (a real one)."""

from __future__ import annotations

import dask

from comparisons.sweep_run import QUIET_CONFIG, local_cluster


def _settings():
    return {key: dask.config.get(key) for key in QUIET_CONFIG}


def test_the_sweeps_local_cluster_gives_its_workers_the_quiet_settings():
    from distributed import Client
    cluster = local_cluster(1)
    try:
        with Client(cluster) as client:
            on_workers = client.run(_settings)
    finally:
        cluster.close()
    assert list(on_workers.values()) == [QUIET_CONFIG]
    # the one setting that switches something off, read back from the worker, not from the constant
    assert all(settings["distributed.worker.profile.enabled"] is False for settings in on_workers.values())
