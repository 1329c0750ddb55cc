"""Initial schema: new-api's tables, created only where missing (mysql)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
CREATE TABLE IF NOT EXISTS `applied_log_settlements` (
    `id` VARCHAR(32) NOT NULL PRIMARY KEY,
    `created_at` BIGINT DEFAULT 0,
    KEY `idx_applied_log_settlements_created_at` (`created_at`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `logs` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `user_id` BIGINT DEFAULT 0,
    `created_at` BIGINT DEFAULT 0,
    `type` BIGINT DEFAULT 0,
    `content` LONGTEXT,
    `username` VARCHAR(191) DEFAULT '',
    `token_name` VARCHAR(191) DEFAULT '',
    `model_name` VARCHAR(191) DEFAULT '',
    `quota` BIGINT DEFAULT 0,
    `prompt_tokens` BIGINT DEFAULT 0,
    `completion_tokens` BIGINT DEFAULT 0,
    `use_time` BIGINT DEFAULT 0,
    `is_stream` BOOL DEFAULT 0,
    `channel_id` BIGINT DEFAULT 0,
    `channel_name` LONGTEXT,
    `token_id` BIGINT DEFAULT 0,
    `group` VARCHAR(191) DEFAULT '',
    `ip` VARCHAR(191) DEFAULT '',
    `request_id` VARCHAR(64) DEFAULT '',
    `upstream_request_id` VARCHAR(128) DEFAULT '',
    `other` LONGTEXT,
    KEY `idx_logs_user_id` (`user_id`),
    KEY `idx_logs_username` (`username`),
    KEY `idx_logs_token_name` (`token_name`),
    KEY `idx_logs_model_name` (`model_name`),
    KEY `idx_logs_channel_id` (`channel_id`),
    KEY `idx_logs_token_id` (`token_id`),
    KEY `idx_logs_group` (`group`),
    KEY `idx_logs_ip` (`ip`),
    KEY `idx_logs_request_id` (`request_id`),
    KEY `idx_logs_upstream_request_id` (`upstream_request_id`),
    KEY `idx_created_at_id` (`created_at`, `id`),
    KEY `idx_user_id_id` (`user_id`, `id`),
    KEY `idx_created_at_type` (`created_at`, `type`),
    KEY `index_username_model_name` (`model_name`, `username`)
) CHARACTER SET utf8mb4;
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Never drop tables: they may belong to a new-api deployment that was adopted.
    return """SELECT 1;"""
