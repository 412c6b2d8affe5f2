"""Every duplicate cluster as rows, for `crm-bot dedupe --report` (reviewed offline)."""

from __future__ import annotations

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.export import ExportTable, Value, phones_by_customer
from storage.models import Customer, Member
from storage.quality.clusters import Cluster, find_clusters

CLUSTER_COLUMNS = (
    "cluster",
    "reasons",
    "id",
    "name",
    "phones",
    "email",
    "company",
    "owner",
    "created_at",
)
LOAD_CHUNK = 500  # customer ids per IN (...): well under either backend's parameter limit


def list_cluster_rows(session: Session, *, actor: Member) -> ExportTable:
    """One row per customer in a cluster, clusters numbered from 1 in the order found."""
    clusters = find_clusters(session, actor=actor)
    rows: list[tuple[Value, ...]] = []
    for start in range(0, len(clusters), LOAD_CHUNK):
        rows += _rows(session, clusters[start : start + LOAD_CHUNK], start)
    return ExportTable(CLUSTER_COLUMNS, rows)


def _rows(session: Session, clusters: list[Cluster], offset: int) -> list[tuple[Value, ...]]:
    ids = [customer_id for cluster in clusters for customer_id in cluster.customer_ids]
    owner = aliased(Member)
    found = {
        customer.id: (customer, owner_name)
        for customer, owner_name in session.exec(
            select(Customer, owner.display_name)
            .join(owner, col(owner.id) == col(Customer.owner_id))
            .where(col(Customer.id).in_(ids))
        )
    }
    phones = phones_by_customer(session, ids)
    return [
        (
            offset + number,
            ", ".join(sorted(cluster.reasons)),
            customer.id,
            customer.name,
            phones.get(customer_id, []),
            customer.email,
            customer.company,
            owner_name,
            customer.created_at,
        )
        for number, cluster in enumerate(clusters, 1)
        for customer_id in cluster.customer_ids
        for customer, owner_name in [found[customer_id]]
    ]
