"""The store's runtime state: teams, their masters and their agents."""

from __future__ import annotations

__all__ = ["RuntimeState"]

from collections.abc import Collection
from typing import Any

from ciorch.errors import NotFoundError
from ciorch.model import (
    AgentClass,
    AgentRecord,
    AgentState,
    Credential,
    Label,
    MasterRecord,
    MasterState,
    NodeName,
    TeamId,
    TeamRecord,
)
from ciorch.store import _rows
from ciorch.store._base import StoreBase


class RuntimeState(StoreBase):
    """Teams, masters and agents: what runs now (see :class:`ciorch.store.Store`)."""

    # -- teams ------------------------------------------------------------------------

    def upsert_team(
        self, name: TeamId, *, spec_json: str, spec_digest: str, source: str
    ) -> TeamRecord:
        """Record a team or replace its spec; ``created_at`` is kept on replace."""
        now = self._clock()
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO teams ({_rows.TEAM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET spec_json = excluded.spec_json,"
                " spec_digest = excluded.spec_digest, source = excluded.source,"
                " updated_at = excluded.updated_at",
                (name, spec_json, spec_digest, source, now, now),
            )
            return _rows.get_team(conn, name)

    def get_team(self, name: TeamId) -> TeamRecord:
        """The team ``name``; :class:`NotFoundError` if there is none."""
        with self._read() as conn:
            return _rows.get_team(conn, name)

    def list_teams(self) -> list[TeamRecord]:
        """All teams, by name."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_rows.TEAM_COLUMNS} FROM teams ORDER BY name")
            return [_rows.to_team(row) for row in rows]

    def delete_team(self, name: TeamId) -> None:
        """Forget a team together with its master and agent records (remove what runs
        first). Its hook events, builds and pool decisions are kept as history."""
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM teams WHERE name = ?", (name,))
            if cursor.rowcount == 0:
                raise NotFoundError("no such team", where=f"team {name}")

    # -- masters ----------------------------------------------------------------------

    def put_master(
        self,
        team: TeamId,
        *,
        image: str,
        state: MasterState,
        previous_image: str | None = None,
        url: str | None = None,
        runtime_id: str | None = None,
        admin_user: str | None = None,
    ) -> MasterRecord:
        """Record (or wholly replace) the master of ``team``, which must exist."""
        now = self._clock()
        with self._write() as conn:
            _rows.get_team(conn, team)
            conn.execute(
                f"INSERT OR REPLACE INTO masters ({_rows.MASTER_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (team, image, previous_image, url, runtime_id, state.value, admin_user, now),
            )
            return _rows.get_master(conn, team)

    def get_master(self, team: TeamId) -> MasterRecord:
        """The master of ``team``; :class:`NotFoundError` if none is recorded."""
        with self._read() as conn:
            return _rows.get_master(conn, team)

    def list_masters(self, *, states: Collection[MasterState] | None = None) -> list[MasterRecord]:
        """All masters (only those in ``states`` if given), by team."""
        sql = f"SELECT {_rows.MASTER_COLUMNS} FROM masters"
        params: list[Any] = []
        if states is not None:
            sql += f" WHERE state IN ({_rows.marks(states)})"
            params += [s.value for s in states]
        with self._read() as conn:
            return [_rows.to_master(row) for row in conn.execute(sql + " ORDER BY team", params)]

    # -- credentials ------------------------------------------------------------------

    def put_credential(self, team: TeamId, *, username: str, secret: str) -> Credential:
        """Record (or replace) the admin credential of ``team``'s master."""
        now = self._clock()
        with self._write() as conn:
            _rows.get_team(conn, team)
            conn.execute(
                "INSERT OR REPLACE INTO credentials (team, username, secret, created_at)"
                " VALUES (?, ?, ?, ?)",
                (team, username, secret, now),
            )
        return Credential(team, username, secret)

    def get_credential(self, team: TeamId) -> Credential:
        """The admin credential of ``team``'s master; NotFoundError when none."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT team, username, secret FROM credentials WHERE team = ?", (team,)
            ).fetchone()
        if row is None:
            raise NotFoundError("no credential recorded", where=f"master of team {team}")
        return Credential(TeamId(row["team"]), row["username"], row["secret"])

    def delete_credential(self, team: TeamId) -> None:
        """Forget ``team``'s admin credential (no error when there is none)."""
        with self._write() as conn:
            conn.execute("DELETE FROM credentials WHERE team = ?", (team,))

    # -- managed jobs ---------------------------------------------------------------

    def managed_jobs(self, team: TeamId) -> dict[str, str]:
        """``{job name: digest of the config.xml ciorch last sent}`` for ``team``."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, digest FROM managed_jobs WHERE team = ? ORDER BY name", (team,)
            ).fetchall()
        return {row["name"]: row["digest"] for row in rows}

    def set_managed_job(self, team: TeamId, name: str, digest: str | None) -> None:
        """Record what ciorch sent for job ``name``; ``None`` forgets the job."""
        now = self._clock()
        with self._write() as conn:
            if digest is None:
                conn.execute("DELETE FROM managed_jobs WHERE team = ? AND name = ?", (team, name))
                return
            _rows.get_team(conn, team)
            conn.execute(
                "INSERT OR REPLACE INTO managed_jobs (team, name, digest, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (team, name, digest, now),
            )

    # -- agents -----------------------------------------------------------------------

    def put_agent(
        self,
        node_name: NodeName,
        *,
        team: TeamId,
        label: Label,
        agent_class: AgentClass,
        state: AgentState,
        runtime_id: str | None = None,
        queue_id: int | None = None,
    ) -> AgentRecord:
        """Record (or replace) an agent of ``team``, which must exist; ``created_at`` is
        kept on replace."""
        now = self._clock()
        with self._write() as conn:
            _rows.get_team(conn, team)
            conn.execute(
                f"INSERT INTO agents ({_rows.AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (node_name) DO UPDATE SET team = excluded.team,"
                " label = excluded.label, agent_class = excluded.agent_class,"
                " runtime_id = excluded.runtime_id, state = excluded.state,"
                " queue_id = excluded.queue_id, updated_at = excluded.updated_at",
                (
                    node_name,
                    team,
                    label,
                    agent_class.value,
                    runtime_id,
                    state.value,
                    queue_id,
                    now,
                    now,
                ),
            )
            return _rows.get_agent(conn, node_name)

    def get_agent(self, node_name: NodeName) -> AgentRecord:
        """The agent ``node_name``; :class:`NotFoundError` if none is recorded."""
        with self._read() as conn:
            return _rows.get_agent(conn, node_name)

    def set_agent_state(self, node_name: NodeName, state: AgentState) -> AgentRecord:
        """Change an agent's state; :class:`NotFoundError` if it is not recorded."""
        now = self._clock()
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE agents SET state = ?, updated_at = ? WHERE node_name = ?",
                (state.value, now, node_name),
            )
            if cursor.rowcount == 0:
                raise NotFoundError("no such agent", where=f"agent {node_name}")
            return _rows.get_agent(conn, node_name)

    def list_agents(
        self,
        *,
        team: TeamId | None = None,
        label: Label | None = None,
        states: Collection[AgentState] | None = None,
        agent_class: AgentClass | None = None,
    ) -> list[AgentRecord]:
        """Agents matching every filter given, oldest first."""
        where: list[str] = []
        params: list[Any] = []
        if team is not None:
            where.append("team = ?")
            params.append(team)
        if label is not None:
            where.append("label = ?")
            params.append(label)
        if states is not None:
            where.append(f"state IN ({_rows.marks(states)})")
            params += [s.value for s in states]
        if agent_class is not None:
            where.append("agent_class = ?")
            params.append(agent_class.value)
        sql = f"SELECT {_rows.AGENT_COLUMNS} FROM agents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, node_name"
        with self._read() as conn:
            return [_rows.to_agent(row) for row in conn.execute(sql, params)]

    def delete_agent(self, node_name: NodeName) -> None:
        """Forget an agent; :class:`NotFoundError` if it is not recorded."""
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM agents WHERE node_name = ?", (node_name,))
            if cursor.rowcount == 0:
                raise NotFoundError("no such agent", where=f"agent {node_name}")
