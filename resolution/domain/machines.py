"""One `transitions` state machine per definition version, shared by every case."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from transitions import Machine, MachineError

from .definitions import Definition, Registry

log = logging.getLogger(__name__)


class ActionNotAllowed(Exception):
    """The action cannot be taken from the case's current state."""


@dataclass
class _Token:
    """The stand-in a case lends the machine for one transition.

    The machine binds trigger methods onto its models; a small object of our
    own keeps those names off the ORM row and is dropped after use.
    """

    state: str


class CaseMachine:
    """The transitions machine of one definition version."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self._lock = threading.Lock()
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            initial=definition.initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            model_attribute="state",
        )
        for action in definition.actions:
            for source in action.sources:
                self.machine.add_transition(action.key, source, action.target(source))
        log.debug("built machine for %s v%s", definition.key, definition.version)

    def available(self, state: str) -> list[str]:
        """Return the actions the definition allows from `state`."""
        return self.machine.get_triggers(state)

    def fire(self, state: str, action: str) -> str:
        """Return the state reached by taking `action` from `state`."""
        token = _Token(state)
        # The model list is shared: add and remove under one lock.
        with self._lock:
            self.machine.add_model(token, initial=state)
        try:
            trigger = getattr(token, action, None)
            if trigger is None or action not in self.machine.get_triggers(state):
                raise ActionNotAllowed(f"'{action}' cannot be taken at '{state}'")
            try:
                trigger()
            except MachineError as exc:
                raise ActionNotAllowed(str(exc)) from None
            return token.state
        finally:
            with self._lock:
                self.machine.remove_model(token)


class Machines:
    """Machines built once per definition version, on first use."""

    def __init__(self) -> None:
        self._machines: dict[tuple[str, int], CaseMachine] = {}
        self._lock = threading.Lock()

    def for_definition(self, definition: Definition) -> CaseMachine:
        """Return the shared machine of a definition version."""
        ident = (definition.key, definition.version)
        machine = self._machines.get(ident)
        if machine is None:
            with self._lock:
                machine = self._machines.get(ident)
                if machine is None:
                    machine = CaseMachine(definition)
                    self._machines[ident] = machine
        return machine


class Workflows:
    """The loaded definitions and their shared machines."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.machines = Machines()

    def definition(self, key: str, version: int) -> Definition:
        """Return one definition version."""
        return self.registry.get(key, version)

    def machine(self, key: str, version: int) -> CaseMachine:
        """Return the shared machine of one definition version."""
        return self.machines.for_definition(self.registry.get(key, version))
