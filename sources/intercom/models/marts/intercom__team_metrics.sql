-- grain: one row per team; conversations belong to a team by team_assignee_id
-- count_conversations_closed: the team's conversations whose state is closed now. Backlog: open and snoozed now.
WITH members AS (
    SELECT team_row_id, CAST(COUNT(*) AS BIGINT) AS count_admins
    FROM stg_intercom__team_admins
    GROUP BY team_row_id
),
conversations AS (
    SELECT
        team_assignee_id AS team_id,
        CAST(COUNT(*) AS BIGINT) AS count_conversations_assigned,
        CAST(SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END) AS BIGINT) AS count_conversations_closed,
        CAST(SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END) AS BIGINT) AS count_open,
        CAST(SUM(CASE WHEN state = 'snoozed' THEN 1 ELSE 0 END) AS BIGINT) AS count_snoozed,
        MEDIAN(minutes_to_first_admin_response) AS median_minutes_to_first_admin_response,
        CAST(SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS count_rated,
        CAST(SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END) AS DOUBLE)
            / NULLIF(SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END), 0) AS csat
    FROM intercom__conversation_metrics
    WHERE team_assignee_id IS NOT NULL
    GROUP BY team_assignee_id
)
SELECT
    t.team_id,
    t.name,
    COALESCE(members.count_admins, 0) AS count_admins,
    COALESCE(conversations.count_conversations_assigned, 0) AS count_conversations_assigned,
    COALESCE(conversations.count_conversations_closed, 0) AS count_conversations_closed,
    COALESCE(conversations.count_open, 0) AS count_open,
    COALESCE(conversations.count_snoozed, 0) AS count_snoozed,
    conversations.median_minutes_to_first_admin_response,
    COALESCE(conversations.count_rated, 0) AS count_rated,
    conversations.csat
FROM stg_intercom__teams AS t
LEFT JOIN members ON members.team_row_id = t.team_row_id
LEFT JOIN conversations ON conversations.team_id = t.team_id
