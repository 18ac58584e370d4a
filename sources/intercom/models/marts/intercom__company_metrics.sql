-- grain: one row per company, deleted ones included (deleted_at set)
-- Its conversations are those of any of its contacts (through contact_companies), each counted once.
WITH tags AS (
    SELECT company_row_id, LIST(tag_name ORDER BY tag_name) AS tags
    FROM stg_intercom__company_tags
    GROUP BY company_row_id
),
company_conversations AS (
    SELECT DISTINCT memberships.company_id, conversation_contacts.conversation_id
    FROM stg_intercom__contact_companies AS memberships
    JOIN int_intercom__conversation_contacts AS conversation_contacts
        ON conversation_contacts.contact_id = memberships.contact_id
),
conversations AS (
    SELECT
        company_conversations.company_id,
        CAST(COUNT(*) AS BIGINT) AS count_conversations,
        MEDIAN(metrics.minutes_to_first_admin_response) AS median_minutes_to_first_admin_response,
        CAST(SUM(CASE WHEN metrics.rating IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS count_rated,
        CAST(SUM(CASE WHEN metrics.rating >= 4 THEN 1 ELSE 0 END) AS DOUBLE)
            / NULLIF(SUM(CASE WHEN metrics.rating IS NOT NULL THEN 1 ELSE 0 END), 0) AS csat
    FROM company_conversations
    JOIN intercom__conversation_metrics AS metrics
        ON metrics.conversation_id = company_conversations.conversation_id
    GROUP BY company_conversations.company_id
)
SELECT
    c.company_id,
    c.external_company_id,
    c.name,
    c.plan_name,
    c.industry,
    c.website,
    c.size,
    c.monthly_spend,
    c.user_count,
    c.session_count,
    c.created_at,
    c.updated_at,
    c.last_request_at,
    c.deleted_at,
    tags.tags,
    COALESCE(conversations.count_conversations, 0) AS count_conversations,
    conversations.median_minutes_to_first_admin_response,
    COALESCE(conversations.count_rated, 0) AS count_rated,
    conversations.csat
FROM stg_intercom__companies AS c
LEFT JOIN tags ON tags.company_row_id = c.company_row_id
LEFT JOIN conversations ON conversations.company_id = c.company_id
