"""The season over HTTP and the CLI: the audited 抽查 sample, the results table, explain."""

from __future__ import annotations

import csv
import io
import json
import random
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text

from engine.sampling import ALL, draw, stratum_quota
from service.audit import event_hash
from service.cli import main as cli_main
from service.store import ChainHead, Event, Store
from tests.service.conftest import Service, json_body

GRADED = "yueyang-fujian5@2024.2"


# -- the draw itself --------------------------------------------------------------------------


def _population(sizes: dict[str, int]) -> list[tuple[str, str]]:
    return [(f"{name}-{i:03d}", name) for name, size in sizes.items() for i in range(size)]


def test_the_draw_is_reproducible_and_ignores_the_population_order() -> None:
    people = _population({"优": 7, "良": 13, "中": 4})
    first = draw("2024-抽查", Decimal("0.2"), people)
    shuffled = people[:]
    random.Random(1).shuffle(shuffled)
    assert draw("2024-抽查", Decimal("0.2"), shuffled) == first
    assert draw("another seed", Decimal("0.2"), people).drawn != first.drawn
    assert first.drawn == sorted(first.drawn)


@pytest.mark.parametrize("seed", ["a", "b", "c", "d"])
def test_stratified_shares_are_exact_to_within_one_package_per_stratum(seed: str) -> None:
    rng = random.Random(seed)
    sizes = {f"s{k}": rng.randrange(0, 40) for k in range(5)}
    share = Decimal(rng.randrange(0, 101)) / 100
    result = draw(seed, share, _population(sizes))
    for stratum, size in sizes.items():
        if size == 0:
            continue
        drawn = [i for i in result.drawn if i.startswith(stratum + "-")]
        assert abs(len(drawn) - share * size) <= Decimal("0.5")
        assert result.strata[stratum] == (size, stratum_quota(share, size))


def test_a_bad_share_or_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        draw("s", Decimal("1.5"), [("a", ALL)])
    with pytest.raises(ValueError, match="seed"):
        draw("", Decimal("0.5"), [("a", ALL)])


# -- over HTTP --------------------------------------------------------------------------------


def _season(svc: Service) -> list[dict[str, Any]]:
    """Six departments, some late (lower totals, other grades), scored with graded 2024.2."""
    made = []
    for k, received in enumerate(["2024-06-28", "2024-07-05", "2024-06-20", "2024-07-15",
                                  "2024-06-29", "2024-07-02"]):  # fmt: skip
        body = json_body(department=f"部门{k}", received_on=received)
        response = svc.client.post(
            "/v1/evaluations", params={"rubric": GRADED}, json=body, headers=svc.auth("reviewer")
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


def _rehash_from(store: Store, lane: int, seq: int) -> None:
    """A forger's repair: recompute every hash of the lane from event `seq` on, and its head."""
    with store.write() as session:
        in_lane = select(Event).where(Event.lane == lane)
        events = list(session.scalars(in_lane.where(Event.seq >= seq).order_by(Event.seq)))
        prev = session.scalar(
            select(Event.hash).where(Event.lane == lane, Event.seq == seq - 1)
        )
        for event in events:
            event.prev_hash = prev or event.prev_hash
            event.hash = event_hash(event.prev_hash, event)
            prev = event.hash
        head = session.get(ChainHead, lane)
        assert head is not None
        head.hash = prev or head.hash


def _drop_triggers(store: Store) -> None:
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER events_append_only ON events"))


def test_sample_is_audited_reproducible_and_tampering_is_detected(
    any_svc: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    made = _season(any_svc)
    url = any_svc.store.url.render_as_string(hide_password=False)
    body = {"share": "0.5", "seed": "岳阳-2024", "strata": "grade"}
    first = any_svc.client.post("/v1/seasons/2023/sample", json=body, headers=any_svc.auth("admin"))
    assert first.status_code == 201, first.text
    drawn = first.json()
    assert drawn["population"] == 6
    assert set(drawn["drawn"]) <= {m["id"] for m in made}
    assert sum(q["drawn"] for q in drawn["quotas"].values()) == len(drawn["drawn"])
    assert set(drawn["quotas"]) <= {"优", "良", "中", "差"}
    again = any_svc.client.post("/v1/seasons/2023/sample", json=body, headers=any_svc.auth("reviewer"))
    assert again.json()["drawn"] == drawn["drawn"]  # same inputs, same sample
    assert any_svc.client.get(
        "/v1/seasons/2023/sample", headers=any_svc.auth("reviewer")
    ).json()["id"] == again.json()["id"]
    # A department cannot draw; a bad share is a 422; a year without evaluations a 404.
    assert any_svc.client.post(
        "/v1/seasons/2023/sample", json=body, headers=any_svc.auth("department")
    ).status_code == 403
    assert any_svc.client.post(
        "/v1/seasons/2023/sample", json=body | {"share": "2"}, headers=any_svc.auth("admin")
    ).status_code == 422
    assert any_svc.client.post(
        "/v1/seasons/2022/sample", json=body, headers=any_svc.auth("admin")
    ).status_code == 404

    capsys.readouterr()
    assert cli_main(["audit", "verify", "--database-url", url]) == 0, capsys.readouterr().out

    # Swap a drawn evaluation for one not drawn, and repair the hash chain as a forger would.
    _drop_triggers(any_svc.store)
    not_drawn = next(m["id"] for m in made if m["id"] not in drawn["drawn"])
    with any_svc.store.write() as session:
        event = session.scalars(select(Event).where(Event.kind == "sampled")).first()
        assert event is not None
        payload = json.loads(event.payload)
        payload["drawn"] = sorted([not_drawn, *payload["drawn"][1:]])
        event.payload = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        lane, seq = event.lane, event.seq
    _rehash_from(any_svc.store, lane, seq)
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--database-url", url]) == 1
    out = capsys.readouterr().out
    assert f"event {lane}.{seq} (sampled" in out
    assert "not what its seed, share and population draw" in out
    assert "hash does not match" not in out  # the chain itself was repaired: the recompute caught it


def test_cli_season_sample(svc: Service, capsys: pytest.CaptureFixture[str]) -> None:
    made = _season(svc)
    url = svc.store.url.render_as_string(hide_password=False)
    capsys.readouterr()
    args = ["season", "sample", "--year", "2023", "--share", "0.34", "--seed", "s", "--database-url", url]
    assert cli_main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("抽查样本 ")
    assert out[1] == f"  {ALL}：6 个评价，抽取 2 个"
    assert set(out[2:]) <= {m["id"] for m in made}
    assert len(out[2:]) == 2
    assert cli_main([*args[:-2], "--database-url", url, "--share", "x"]) == 2
    assert cli_main(["audit", "verify", "--database-url", url]) == 0


def test_results_table_over_http(svc: Service) -> None:
    made = _season(svc)
    got = svc.client.get("/v1/seasons/2023/results.csv", headers=svc.auth("reviewer"))
    assert got.status_code == 200, got.text
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["2023年度部门整体支出绩效自评考核结果汇总表"]
    body = rows[3:]
    assert sorted(r[1] for r in body) == [f"部门{k}" for k in range(6)]
    totals = [Decimal(r[rows[2].index("总分")]) for r in body]
    assert totals == sorted(totals, reverse=True)
    assert {m["total"]["grade"] for m in made} == {r[rows[2].index("等级")] for r in body}
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        got = svc.client.get(f"/v1/seasons/2023/results.{fmt}", headers=svc.auth("admin"))
        assert got.status_code == 200
        assert got.content.startswith(magic)
    assert svc.client.get("/v1/seasons/2022/results.csv", headers=svc.auth("admin")).status_code == 404
    assert svc.client.get("/v1/seasons/2023/results.csv", headers=svc.auth("department")).status_code == 403
    assert svc.client.get("/v1/seasons/2023/results.doc", headers=svc.auth("admin")).status_code == 422


def test_explain_over_http_agrees_with_the_report(svc: Service) -> None:
    created = svc.create()
    got = svc.client.get(f"/v1/evaluations/{created['id']}/explain", headers=svc.auth("department"))
    assert got.status_code == 200, got.text
    explanation = got.json()
    assert explanation["id"] == created["id"]
    assert explanation["decision_id"] == created["decision_id"]
    chosen = {b["clause"]: b["band"] for i in created["items"] for b in i["assessment"].get("bands", [])}
    assert {c["clause"]: c["chosen"] for c in explanation["bands"]} == chosen
    deducted = {d["rule"] for i in created["items"] for d in i["deductions"]}
    fired = {r["rule"] for r in explanation["rules"] if r["fired"] and r["outcome"].startswith("扣分")}
    assert fired == deducted - set(chosen.values())
    other = svc.client.get(f"/v1/evaluations/{created['id']}/explain", headers=svc.auth("other_department"))
    assert other.status_code == 404  # another department does not learn it exists
