-- grain: one row per (conversation, contact): every contact of the conversation's current version
SELECT
    conversations.conversation_id,
    contacts.contact_id,
    contacts.list_position = 0 AS is_first_contact
FROM stg_intercom__conversation_contacts AS contacts
JOIN stg_intercom__conversations AS conversations
    ON conversations.conversation_row_id = contacts.conversation_row_id
