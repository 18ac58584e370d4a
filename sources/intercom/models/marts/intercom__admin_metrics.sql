-- grain: one row per admin; team_names lists every team the admin is on (no fan-out by team)
-- CSAT: ratings of 4 or 5 over rated conversations whose rating names this admin; unrated ones do not count.
WITH teams AS (
    SELECT members.admin_id, LIST(teams.name ORDER BY teams.name) AS team_names
    FROM stg_intercom__team_admins AS members
    JOIN stg_intercom__teams AS teams ON teams.team_row_id = members.team_row_id
    GROUP BY members.admin_id
),
-- An admin plays up to four roles in a conversation (assignee, last closer, first responder, rated teammate):
-- the conversations are read once, one row per role, and each measure counts its own role.
roles AS (
    SELECT
        CASE role
            WHEN 'assignee' THEN m.admin_assignee_id
            WHEN 'closer' THEN m.last_closed_by_admin_id
            WHEN 'responder' THEN m.first_response_admin_id
            ELSE m.rating_teammate_id
        END AS admin_id,
        admin_roles.role,
        m.state,
        m.minutes_to_first_admin_response,
        m.rating
    FROM intercom__conversation_metrics AS m
    CROSS JOIN (VALUES ('assignee'), ('closer'), ('responder'), ('rater')) AS admin_roles (role)
),
measures AS (
    SELECT
        admin_id,
        CAST(SUM(CASE WHEN role = 'assignee' THEN 1 ELSE 0 END) AS BIGINT) AS count_conversations_assigned,
        CAST(SUM(CASE WHEN role = 'assignee' AND state = 'open' THEN 1 ELSE 0 END) AS BIGINT) AS count_open_assigned,
        CAST(SUM(CASE WHEN role = 'assignee' AND state = 'snoozed' THEN 1 ELSE 0 END) AS BIGINT)
            AS count_snoozed_assigned,
        CAST(SUM(CASE WHEN role = 'closer' THEN 1 ELSE 0 END) AS BIGINT) AS count_conversations_closed,
        MEDIAN(CASE WHEN role = 'responder' THEN minutes_to_first_admin_response END)
            AS median_minutes_to_first_admin_response,
        CAST(SUM(CASE WHEN role = 'rater' AND rating IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS count_rated,
        CAST(SUM(CASE WHEN role = 'rater' AND rating >= 4 THEN 1 ELSE 0 END) AS DOUBLE)
            / NULLIF(SUM(CASE WHEN role = 'rater' AND rating IS NOT NULL THEN 1 ELSE 0 END), 0) AS csat
    FROM roles
    WHERE admin_id IS NOT NULL
    GROUP BY admin_id
)
SELECT
    a.admin_id,
    a.name,
    a.email,
    a.job_title,
    a.away_mode_enabled,
    a.has_inbox_seat,
    teams.team_names,
    COALESCE(measures.count_conversations_assigned, 0) AS count_conversations_assigned,
    COALESCE(measures.count_open_assigned, 0) AS count_open_assigned,
    COALESCE(measures.count_snoozed_assigned, 0) AS count_snoozed_assigned,
    COALESCE(measures.count_conversations_closed, 0) AS count_conversations_closed,
    measures.median_minutes_to_first_admin_response,
    COALESCE(measures.count_rated, 0) AS count_rated,
    measures.csat
FROM stg_intercom__admins AS a
LEFT JOIN teams ON teams.admin_id = a.admin_id
LEFT JOIN measures ON measures.admin_id = a.admin_id
