-- 0019_achievement_events (up)
-- achievement_events(user, trigger_type, trigger_config): how many of the user's ledger rows count
-- towards an achievement's trigger. It was written twice, in award_state (0016) and in the API's
-- achievements listing; both now use this one definition.
-- Creates: function achievement_events(uuid, text, jsonb). Replaces: function award_state(uuid, text).
-- Runs inside the runner's transaction: no BEGIN/COMMIT.

-- The rows of trigger_config.event_type, counted only up to what the trigger needs (1 for "first",
-- the target for "count"), so the cost does not grow with the user's history; 0 when the trigger
-- has no event type. A one-row set-returning SQL function, so PostgreSQL inlines it into the
-- calling query (a scalar SQL function with a subquery would be run apart for every row instead):
-- use it as (SELECT events FROM achievement_events(...)).
CREATE FUNCTION achievement_events(p_user UUID, p_trigger_type TEXT, p_trigger_config JSONB)
RETURNS TABLE (events BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_trigger_config ? 'event_type' THEN (
        SELECT count(*) FROM (
            SELECT 1 FROM points_ledger l
            WHERE l.user_id = p_user AND l.event_type = p_trigger_config->>'event_type'
            LIMIT CASE
                WHEN p_trigger_type = 'count' AND jsonb_typeof(p_trigger_config->'count') = 'number'
                THEN LEAST(GREATEST(ceil((p_trigger_config->>'count')::numeric), 1), 1000000)::bigint
                ELSE 1 END
        ) upto) ELSE 0 END
$$;

-- award_state as 0016 made it, counting through achievement_events.
CREATE OR REPLACE FUNCTION award_state(p_user UUID, p_key TEXT) RETURNS JSON
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_level INTEGER;
    v_xp BIGINT;
BEGIN
    SELECT current_level, total_xp INTO v_level, v_xp FROM user_progress WHERE user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        -- First award: create the row (or wait for a concurrent first award's), then lock it.
        INSERT INTO user_progress (user_id) VALUES (p_user) ON CONFLICT (user_id) DO NOTHING;
        SELECT current_level, total_xp INTO v_level, v_xp FROM user_progress WHERE user_id = p_user FOR UPDATE;
    END IF;
    RETURN json_build_object(
        'level', v_level,
        'xp', v_xp,
        'timezone', (SELECT timezone FROM user_settings WHERE user_id = p_user),
        'paid', EXISTS (SELECT 1 FROM points_ledger WHERE idempotency_key = p_key),
        'streaks', COALESCE((SELECT json_agg(json_build_object('type', s.streak_type, 'current', s.current_streak,
            'longest', s.longest_streak, 'last', s.last_activity_date)) FROM user_streaks s WHERE s.user_id = p_user), '[]'),
        -- Achievements not earned yet, with the user's ledger rows of their event type, counted
        -- up to what the trigger needs (achievement_events).
        'pending', COALESCE((
            SELECT json_agg(json_build_object('key', d.key, 'name', d.name, 'trigger_type', d.trigger_type,
                'trigger_config', d.trigger_config, 'reward_coins', d.reward_coins, 'reward_xp', d.reward_xp,
                'reward_paid', EXISTS (SELECT 1 FROM points_ledger l WHERE l.idempotency_key = 'achievement_' || d.key || '_' || p_user),
                'events', (SELECT events FROM achievement_events(p_user, d.trigger_type, d.trigger_config)))
                ORDER BY d.sort_order, d.key)
            FROM achievement_definitions d
            WHERE NOT EXISTS (SELECT 1 FROM user_achievements a WHERE a.user_id = p_user AND a.achievement_key = d.key)
        ), '[]')
    );
END;
$$;
