"""A seventh simulator, as a new one is added: one module and one registry line.

It is Brian2 driven through its numpy code-generation target (the real simulator, nothing re-implemented),
and it brings its own written contract: the conventions of Brian2's schedule (spike stamped at the start
of the step; free again when ``timestep(t - lastspike) >= timestep(t_ref)``). ``LONGER_REFRACTORY``
makes it deliberately wrong by one step, to show its contract verdicts see it.
"""

from models import brian2_
from reference.conventions import Conventions

NAME = "toy"
LIBRARY = "brian2"
OPTIONS = {}
SUMMARY = "Brian2's numpy target, its schedule declared by the adapter"
#: Steps added to the refractory period (0: the simulator as documented).
LONGER_REFRACTORY = 0


def version():
    return "toy on brian2 " + brian2_.version()


def conventions(settings):
    return Conventions(integrator=settings.method, spike_stamp="start", refractory="timestep")


def representable(spec, settings):
    return brian2_.representable(spec, settings.with_options(target="numpy"))


def run(spec, drive, settings):
    spec = spec.replace(t_ref=spec.t_ref + LONGER_REFRACTORY * drive.dt)
    return brian2_.run(spec, drive, settings.with_options(target="numpy"))
