"""Initial schema: new-api's tables, created only where missing (mysql)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
CREATE TABLE IF NOT EXISTS `applied_settlements` (
    `id` VARCHAR(32) NOT NULL PRIMARY KEY,
    `created_at` BIGINT DEFAULT 0,
    KEY `idx_applied_settlements_created_at` (`created_at`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `channels` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `type` BIGINT DEFAULT 0,
    `key` LONGTEXT NOT NULL,
    `open_ai_organization` LONGTEXT,
    `test_model` LONGTEXT,
    `status` BIGINT DEFAULT 1,
    `name` VARCHAR(191) DEFAULT '',
    `weight` BIGINT DEFAULT 0,
    `created_time` BIGINT DEFAULT 0,
    `test_time` BIGINT DEFAULT 0,
    `response_time` BIGINT DEFAULT 0,
    `base_url` VARCHAR(191) DEFAULT '',
    `other` LONGTEXT,
    `balance` DOUBLE DEFAULT 0,
    `balance_updated_time` BIGINT DEFAULT 0,
    `models` LONGTEXT,
    `group` VARCHAR(64) DEFAULT 'default',
    `used_quota` BIGINT DEFAULT 0,
    `model_mapping` LONGTEXT,
    `status_code_mapping` VARCHAR(1024) DEFAULT '',
    `priority` BIGINT DEFAULT 0,
    `auto_ban` BIGINT DEFAULT 1,
    `other_info` LONGTEXT,
    `tag` VARCHAR(191),
    `setting` LONGTEXT,
    `param_override` LONGTEXT,
    `header_override` LONGTEXT,
    `remark` VARCHAR(255),
    `channel_info` LONGTEXT,
    `settings` LONGTEXT,
    KEY `idx_channels_name` (`name`),
    KEY `idx_channels_tag` (`tag`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `options` (
    `key` VARCHAR(191) NOT NULL PRIMARY KEY,
    `value` LONGTEXT
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `quota_data` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `user_id` BIGINT DEFAULT 0,
    `username` VARCHAR(64) DEFAULT '',
    `model_name` VARCHAR(64) DEFAULT '',
    `created_at` BIGINT DEFAULT 0,
    `token_used` BIGINT DEFAULT 0,
    `count` BIGINT DEFAULT 0,
    `quota` BIGINT DEFAULT 0,
    `use_group` VARCHAR(64) DEFAULT '',
    `token_id` BIGINT DEFAULT 0,
    `channel_id` BIGINT DEFAULT 0,
    `node_name` VARCHAR(64) DEFAULT '',
    KEY `idx_quota_data_user_id` (`user_id`),
    KEY `idx_qdt_created_at` (`created_at`),
    KEY `idx_qdt_model_user_name` (`model_name`, `username`),
    KEY `idx_quota_data_use_group` (`use_group`),
    KEY `idx_quota_data_token_id` (`token_id`),
    KEY `idx_quota_data_channel_id` (`channel_id`),
    KEY `idx_quota_data_node_name` (`node_name`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `redemptions` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `user_id` BIGINT DEFAULT 0,
    `key` VARCHAR(32) NOT NULL UNIQUE,
    `status` BIGINT DEFAULT 1,
    `name` VARCHAR(191) DEFAULT '',
    `quota` BIGINT DEFAULT 100,
    `created_time` BIGINT DEFAULT 0,
    `redeemed_time` BIGINT DEFAULT 0,
    `used_user_id` BIGINT DEFAULT 0,
    `expired_time` BIGINT DEFAULT 0,
    `deleted_at` DATETIME(6),
    KEY `idx_redemptions_name` (`name`),
    KEY `idx_redemptions_deleted_at` (`deleted_at`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `session_epochs` (
    `user_id` INT NOT NULL PRIMARY KEY,
    `epoch` VARCHAR(32) NOT NULL
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `setups` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `version` VARCHAR(50) NOT NULL,
    `initialized_at` BIGINT NOT NULL
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `tokens` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `user_id` BIGINT DEFAULT 0,
    `key` VARCHAR(128) NOT NULL UNIQUE,
    `status` BIGINT DEFAULT 1,
    `name` VARCHAR(191) DEFAULT '',
    `created_time` BIGINT DEFAULT 0,
    `accessed_time` BIGINT DEFAULT 0,
    `expired_time` BIGINT DEFAULT -1,
    `remain_quota` BIGINT DEFAULT 0,
    `unlimited_quota` BOOL DEFAULT 0,
    `model_limits_enabled` BOOL DEFAULT 0,
    `model_limits` LONGTEXT,
    `allow_ips` VARCHAR(191) DEFAULT '',
    `used_quota` BIGINT DEFAULT 0,
    `group` VARCHAR(191) DEFAULT '',
    `cross_group_retry` BOOL DEFAULT 0,
    `deleted_at` DATETIME(6),
    KEY `idx_tokens_user_id` (`user_id`),
    KEY `idx_tokens_name` (`name`),
    KEY `idx_tokens_deleted_at` (`deleted_at`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `top_ups` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `user_id` BIGINT DEFAULT 0,
    `amount` BIGINT DEFAULT 0,
    `money` DOUBLE DEFAULT 0,
    `trade_no` VARCHAR(255) UNIQUE,
    `payment_method` VARCHAR(50) DEFAULT '',
    `payment_provider` VARCHAR(50) DEFAULT '',
    `create_time` BIGINT DEFAULT 0,
    `complete_time` BIGINT DEFAULT 0,
    `status` LONGTEXT,
    KEY `idx_top_ups_user_id` (`user_id`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `users` (
    `id` BIGINT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `username` VARCHAR(191) NOT NULL UNIQUE,
    `password` LONGTEXT NOT NULL,
    `display_name` VARCHAR(191) DEFAULT '',
    `role` INT DEFAULT 1,
    `status` INT DEFAULT 1,
    `email` VARCHAR(191) DEFAULT '',
    `github_id` VARCHAR(191) DEFAULT '',
    `discord_id` VARCHAR(191) DEFAULT '',
    `oidc_id` VARCHAR(191) DEFAULT '',
    `wechat_id` VARCHAR(191) DEFAULT '',
    `telegram_id` VARCHAR(191) DEFAULT '',
    `linux_do_id` VARCHAR(191) DEFAULT '',
    `access_token` VARCHAR(32) UNIQUE,
    `quota` BIGINT DEFAULT 0,
    `used_quota` BIGINT DEFAULT 0,
    `request_count` BIGINT DEFAULT 0,
    `group` VARCHAR(64) DEFAULT 'default',
    `aff_code` VARCHAR(32) UNIQUE,
    `aff_count` BIGINT DEFAULT 0,
    `aff_quota` BIGINT DEFAULT 0,
    `aff_history` BIGINT DEFAULT 0,
    `inviter_id` BIGINT DEFAULT 0,
    `deleted_at` DATETIME(6),
    `setting` LONGTEXT,
    `remark` VARCHAR(255) DEFAULT '',
    `stripe_customer` VARCHAR(64) DEFAULT '',
    `created_at` BIGINT DEFAULT 0,
    `last_login_at` BIGINT DEFAULT 0,
    KEY `idx_users_display_name` (`display_name`),
    KEY `idx_users_email` (`email`),
    KEY `idx_users_github_id` (`github_id`),
    KEY `idx_users_discord_id` (`discord_id`),
    KEY `idx_users_oidc_id` (`oidc_id`),
    KEY `idx_users_wechat_id` (`wechat_id`),
    KEY `idx_users_telegram_id` (`telegram_id`),
    KEY `idx_users_linux_do_id` (`linux_do_id`),
    KEY `idx_users_inviter_id` (`inviter_id`),
    KEY `idx_users_deleted_at` (`deleted_at`),
    KEY `idx_users_stripe_customer` (`stripe_customer`)
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `aerich` (
    `id` INT NOT NULL PRIMARY KEY AUTO_INCREMENT,
    `version` VARCHAR(255) NOT NULL,
    `app` VARCHAR(100) NOT NULL,
    `content` JSON NOT NULL
) CHARACTER SET utf8mb4;
CREATE TABLE IF NOT EXISTS `abilities` (
    `group` VARCHAR(64) NOT NULL,
    `model` VARCHAR(255) NOT NULL,
    `channel_id` BIGINT NOT NULL,
    `enabled` BOOL DEFAULT 0,
    `priority` BIGINT DEFAULT 0,
    `weight` BIGINT DEFAULT 0,
    `tag` VARCHAR(191),
    PRIMARY KEY (`group`, `model`, `channel_id`),
    KEY `idx_abilities_channel_id` (`channel_id`),
    KEY `idx_abilities_priority` (`priority`),
    KEY `idx_abilities_weight` (`weight`),
    KEY `idx_abilities_tag` (`tag`)
) CHARACTER SET utf8mb4;
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Never drop tables: they may belong to a new-api deployment that was adopted.
    return """SELECT 1;"""
