-- grain: one row per conversation
-- Calendar durations are minutes from created_at to the loaded parts' times; the *_minutes columns named after
-- Intercom's statistics are the API's own figures (office hours where the workspace sets them).
-- first_contact_company_id: the API links conversations to contacts, not companies; a first contact in several
-- companies gives the lowest company id (intercom__company_metrics counts the conversation for each of them).
WITH tags AS (
    SELECT conversation_row_id, LIST(tag_name ORDER BY tag_name) AS tags
    FROM stg_intercom__conversation_tags
    GROUP BY conversation_row_id
),
first_contacts AS (
    SELECT conversation_id, MIN(contact_id) AS contact_id
    FROM int_intercom__conversation_contacts
    WHERE is_first_contact
    GROUP BY conversation_id
),
contact_company AS (
    SELECT contact_id, MIN(company_id) AS company_id
    FROM stg_intercom__contact_companies
    GROUP BY contact_id
)
SELECT
    c.conversation_id,
    c.created_at,
    c.updated_at,
    c.state,
    c.is_open,
    c.waiting_since,
    c.snoozed_until,
    c.priority,
    c.source_type,
    c.source_delivered_as,
    c.admin_assignee_id,
    c.team_assignee_id,
    tags.tags,
    first_contacts.contact_id AS first_contact_id,
    contact_company.company_id AS first_contact_company_id,
    c.rating,
    c.rating_remark,
    c.rated_at,
    c.rating_teammate_id,
    c.sla_name,
    c.sla_status,
    COALESCE(s.count_parts, 0) AS count_parts,
    COALESCE(s.count_reopens, 0) AS count_reopens,
    COALESCE(s.count_assignments, 0) AS count_assignments,
    s.first_admin_response_at,
    s.first_response_admin_id,
    s.first_close_at,
    s.last_close_at,
    s.first_admin_close_at,
    s.last_admin_close_at,
    s.last_closed_by_admin_id,
    (EPOCH(s.first_admin_response_at) - EPOCH(c.created_at)) / 60 AS minutes_to_first_admin_response,
    (EPOCH(s.first_close_at) - EPOCH(c.created_at)) / 60 AS minutes_to_first_close,
    (EPOCH(s.last_close_at) - EPOCH(c.created_at)) / 60 AS minutes_to_last_close,
    c.time_to_admin_reply_minutes,
    c.time_to_first_close_minutes,
    c.time_to_last_close_minutes,
    c.median_time_to_reply_minutes,
    c.count_conversation_parts
FROM stg_intercom__conversations AS c
LEFT JOIN int_intercom__conversation_part_stats AS s ON s.conversation_id = c.conversation_id
LEFT JOIN tags ON tags.conversation_row_id = c.conversation_row_id
LEFT JOIN first_contacts ON first_contacts.conversation_id = c.conversation_id
LEFT JOIN contact_company ON contact_company.contact_id = first_contacts.contact_id
