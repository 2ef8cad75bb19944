"""amnesty_eligibility: the amnesty law as versioned rule sets, applied to every return, explained.

Layout (imports point down the list):

- ``entrypoint`` — the composition root: settings, rule set, store, consumer, relay, HTTP operations.
- ``entrypoints/`` — the doors: ``cases_consumer`` (amnesty.cases.v1, checkpointed batches, metrics) and
  ``whatif_cli`` (``amnesty whatif``, through the ``amnesty.cli`` entry points).
- ``service_layer/`` — the use cases: ``handlers.decide_eligibility`` (a batch in one transaction) and
  ``whatif`` (the recorded histories decided under two rule sets).
- ``adapters/`` — ``rule_files`` (TOML rule sets, packaged under ``rule_sets/``) and ``person_streams``
  (one event-store stream per person: the case events received and the decisions emitted).
- ``domain/`` — pure: ``regimes`` (Regime, RuleSet), ``history`` (a person's cases and returns, an
  order-free fold), ``decisions`` (``decide``), ``ledger`` (what was emitted, what changed) and ``person``
  (one case event in, the decision events it calls for out).

What consumers of amnesty.decisions.v1 can rely on:

- A decision is about one return (a ``VoluntaryReturn`` or a ``Detained``), named by its ``submission``;
  ``occurred_on`` is the return's date, ``correlation_id`` the return's, ``causation_id`` the case event
  whose arrival changed the answer.
- The latest decision on a return is the one that holds: ``EligibilityPending`` is followed by the
  decision once the case arrives; ``AmnestyRevoked`` turns a grant into a denial for its ``reason``; a
  decision is otherwise superseded only when late facts change the regime or the reason. A decided return
  never goes back to pending. Only changes are emitted: a resent or irrelevant event emits nothing.
- Decisions are computed under the rule set in force when a person's history changes; changing the rule
  set re-decides a person at their next event (``amnesty whatif`` shows the effect on everyone first).
- ``reinstate_by`` is 72 hours (the rule set's ``reinstate_within_hours``) after 00:00 Europe/Kyiv on the
  return date, written with the Kyiv offset.
- A message of amnesty.cases.v1 that is not a readable case event (or reuses another person's event id)
  is published to amnesty.rejected.v1 with its bytes and coordinates, in the same transaction, and the
  partition goes on.
"""
