-- grain: one row per conversation whose loaded parts are fewer than the API's count_conversation_parts - 1
-- The -1 leaves room for the opening message, which is the conversation's source and not a part. The spec
-- calls count_conversation_parts the "total number of conversation parts"; whether Intercom counts the source
-- in it is not documented, so a conversation missing exactly one part may not show. The API returns only a
-- conversation's newest 500 parts: older ones are unreachable, and such conversations always show here.
SELECT
    conversation_id,
    created_at,
    updated_at,
    count_conversation_parts,
    count_parts AS count_parts_loaded,
    count_conversation_parts - 1 - count_parts AS count_parts_missing
FROM intercom__conversation_metrics
WHERE count_parts < count_conversation_parts - 1
