-- grain: one row per contact, deleted ones included (deleted_at set)
-- Conversations are those listing the contact among their contacts; last_conversation_at is the latest one's
-- created_at. Company and tag names are sorted lists (null when there are none).
WITH tags AS (
    SELECT memberships.contact_id, LIST(tags.name ORDER BY tags.name) AS tags
    FROM stg_intercom__contact_tags AS memberships
    JOIN stg_intercom__tags AS tags ON tags.tag_id = memberships.tag_id
    GROUP BY memberships.contact_id
),
companies AS (
    SELECT memberships.contact_id, LIST(companies.name ORDER BY companies.name) AS company_names
    FROM stg_intercom__contact_companies AS memberships
    JOIN stg_intercom__companies AS companies ON companies.company_id = memberships.company_id
    GROUP BY memberships.contact_id
),
conversations AS (
    SELECT
        conversation_contacts.contact_id,
        CAST(COUNT(*) AS BIGINT) AS count_conversations,
        MAX(metrics.created_at) AS last_conversation_at
    FROM int_intercom__conversation_contacts AS conversation_contacts
    JOIN stg_intercom__conversations AS metrics ON metrics.conversation_id = conversation_contacts.conversation_id
    GROUP BY conversation_contacts.contact_id
)
SELECT
    c.contact_id,
    c.external_id,
    c.role,
    c.name,
    c.email,
    c.owner_id,
    c.country,
    c.created_at,
    c.updated_at,
    c.signed_up_at,
    c.last_seen_at,
    c.last_replied_at,
    c.deleted_at,
    tags.tags,
    companies.company_names,
    COALESCE(conversations.count_conversations, 0) AS count_conversations,
    conversations.last_conversation_at
FROM stg_intercom__contacts AS c
LEFT JOIN tags ON tags.contact_id = c.contact_id
LEFT JOIN companies ON companies.contact_id = c.contact_id
LEFT JOIN conversations ON conversations.contact_id = c.contact_id
