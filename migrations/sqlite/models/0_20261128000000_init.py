"""Initial schema: new-api's tables, created only where missing (sqlite)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
CREATE TABLE IF NOT EXISTS "applied_settlements" (
    "id" VARCHAR(32) NOT NULL PRIMARY KEY,
    "created_at" BIGINT DEFAULT 0
);
CREATE INDEX IF NOT EXISTS "idx_applied_settlements_created_at" ON "applied_settlements" ("created_at");
CREATE TABLE IF NOT EXISTS "channels" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "type" BIGINT DEFAULT 0,
    "key" TEXT NOT NULL,
    "open_ai_organization" TEXT,
    "test_model" TEXT,
    "status" BIGINT DEFAULT 1,
    "name" VARCHAR(191) DEFAULT '',
    "weight" BIGINT DEFAULT 0,
    "created_time" BIGINT DEFAULT 0,
    "test_time" BIGINT DEFAULT 0,
    "response_time" BIGINT DEFAULT 0,
    "base_url" VARCHAR(191) DEFAULT '',
    "other" TEXT,
    "balance" REAL DEFAULT 0,
    "balance_updated_time" BIGINT DEFAULT 0,
    "models" TEXT,
    "group" VARCHAR(64) DEFAULT 'default',
    "used_quota" BIGINT DEFAULT 0,
    "model_mapping" TEXT,
    "status_code_mapping" VARCHAR(1024) DEFAULT '',
    "priority" BIGINT DEFAULT 0,
    "auto_ban" BIGINT DEFAULT 1,
    "other_info" TEXT,
    "tag" VARCHAR(191),
    "setting" TEXT,
    "param_override" TEXT,
    "header_override" TEXT,
    "remark" VARCHAR(255),
    "channel_info" TEXT,
    "settings" TEXT
);
CREATE INDEX IF NOT EXISTS "idx_channels_name" ON "channels" ("name");
CREATE INDEX IF NOT EXISTS "idx_channels_tag" ON "channels" ("tag");
CREATE TABLE IF NOT EXISTS "options" (
    "key" VARCHAR(191) NOT NULL PRIMARY KEY,
    "value" TEXT
);
CREATE TABLE IF NOT EXISTS "quota_data" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" BIGINT DEFAULT 0,
    "username" VARCHAR(64) DEFAULT '',
    "model_name" VARCHAR(64) DEFAULT '',
    "created_at" BIGINT DEFAULT 0,
    "token_used" BIGINT DEFAULT 0,
    "count" BIGINT DEFAULT 0,
    "quota" BIGINT DEFAULT 0,
    "use_group" VARCHAR(64) DEFAULT '',
    "token_id" BIGINT DEFAULT 0,
    "channel_id" BIGINT DEFAULT 0,
    "node_name" VARCHAR(64) DEFAULT ''
);
CREATE INDEX IF NOT EXISTS "idx_quota_data_user_id" ON "quota_data" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_qdt_created_at" ON "quota_data" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_qdt_model_user_name" ON "quota_data" ("model_name", "username");
CREATE INDEX IF NOT EXISTS "idx_quota_data_use_group" ON "quota_data" ("use_group");
CREATE INDEX IF NOT EXISTS "idx_quota_data_token_id" ON "quota_data" ("token_id");
CREATE INDEX IF NOT EXISTS "idx_quota_data_channel_id" ON "quota_data" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_quota_data_node_name" ON "quota_data" ("node_name");
CREATE TABLE IF NOT EXISTS "redemptions" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" BIGINT DEFAULT 0,
    "key" VARCHAR(32) NOT NULL UNIQUE,
    "status" BIGINT DEFAULT 1,
    "name" VARCHAR(191) DEFAULT '',
    "quota" BIGINT DEFAULT 100,
    "created_time" BIGINT DEFAULT 0,
    "redeemed_time" BIGINT DEFAULT 0,
    "used_user_id" BIGINT DEFAULT 0,
    "expired_time" BIGINT DEFAULT 0,
    "deleted_at" TIMESTAMP
);
CREATE INDEX IF NOT EXISTS "idx_redemptions_name" ON "redemptions" ("name");
CREATE INDEX IF NOT EXISTS "idx_redemptions_deleted_at" ON "redemptions" ("deleted_at");
CREATE TABLE IF NOT EXISTS "session_epochs" (
    "user_id" INT NOT NULL PRIMARY KEY,
    "epoch" VARCHAR(32) NOT NULL
);
CREATE TABLE IF NOT EXISTS "setups" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(50) NOT NULL,
    "initialized_at" BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS "tokens" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" BIGINT DEFAULT 0,
    "key" VARCHAR(128) NOT NULL UNIQUE,
    "status" BIGINT DEFAULT 1,
    "name" VARCHAR(191) DEFAULT '',
    "created_time" BIGINT DEFAULT 0,
    "accessed_time" BIGINT DEFAULT 0,
    "expired_time" BIGINT DEFAULT -1,
    "remain_quota" BIGINT DEFAULT 0,
    "unlimited_quota" INT DEFAULT 0,
    "model_limits_enabled" INT DEFAULT 0,
    "model_limits" TEXT,
    "allow_ips" VARCHAR(191) DEFAULT '',
    "used_quota" BIGINT DEFAULT 0,
    "group" VARCHAR(191) DEFAULT '',
    "cross_group_retry" INT DEFAULT 0,
    "deleted_at" TIMESTAMP
);
CREATE INDEX IF NOT EXISTS "idx_tokens_user_id" ON "tokens" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_tokens_name" ON "tokens" ("name");
CREATE INDEX IF NOT EXISTS "idx_tokens_deleted_at" ON "tokens" ("deleted_at");
CREATE TABLE IF NOT EXISTS "top_ups" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" BIGINT DEFAULT 0,
    "amount" BIGINT DEFAULT 0,
    "money" REAL DEFAULT 0,
    "trade_no" VARCHAR(255) UNIQUE,
    "payment_method" VARCHAR(50) DEFAULT '',
    "payment_provider" VARCHAR(50) DEFAULT '',
    "create_time" BIGINT DEFAULT 0,
    "complete_time" BIGINT DEFAULT 0,
    "status" TEXT
);
CREATE INDEX IF NOT EXISTS "idx_top_ups_user_id" ON "top_ups" ("user_id");
CREATE TABLE IF NOT EXISTS "users" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "username" VARCHAR(191) NOT NULL UNIQUE,
    "password" TEXT NOT NULL,
    "display_name" VARCHAR(191) DEFAULT '',
    "role" INT DEFAULT 1,
    "status" INT DEFAULT 1,
    "email" VARCHAR(191) DEFAULT '',
    "github_id" VARCHAR(191) DEFAULT '',
    "discord_id" VARCHAR(191) DEFAULT '',
    "oidc_id" VARCHAR(191) DEFAULT '',
    "wechat_id" VARCHAR(191) DEFAULT '',
    "telegram_id" VARCHAR(191) DEFAULT '',
    "linux_do_id" VARCHAR(191) DEFAULT '',
    "access_token" VARCHAR(32) UNIQUE,
    "quota" BIGINT DEFAULT 0,
    "used_quota" BIGINT DEFAULT 0,
    "request_count" BIGINT DEFAULT 0,
    "group" VARCHAR(64) DEFAULT 'default',
    "aff_code" VARCHAR(32) UNIQUE,
    "aff_count" BIGINT DEFAULT 0,
    "aff_quota" BIGINT DEFAULT 0,
    "aff_history" BIGINT DEFAULT 0,
    "inviter_id" BIGINT DEFAULT 0,
    "deleted_at" TIMESTAMP,
    "setting" TEXT,
    "remark" VARCHAR(255) DEFAULT '',
    "stripe_customer" VARCHAR(64) DEFAULT '',
    "created_at" BIGINT DEFAULT 0,
    "last_login_at" BIGINT DEFAULT 0
);
CREATE INDEX IF NOT EXISTS "idx_users_display_name" ON "users" ("display_name");
CREATE INDEX IF NOT EXISTS "idx_users_email" ON "users" ("email");
CREATE INDEX IF NOT EXISTS "idx_users_github_id" ON "users" ("github_id");
CREATE INDEX IF NOT EXISTS "idx_users_discord_id" ON "users" ("discord_id");
CREATE INDEX IF NOT EXISTS "idx_users_oidc_id" ON "users" ("oidc_id");
CREATE INDEX IF NOT EXISTS "idx_users_wechat_id" ON "users" ("wechat_id");
CREATE INDEX IF NOT EXISTS "idx_users_telegram_id" ON "users" ("telegram_id");
CREATE INDEX IF NOT EXISTS "idx_users_linux_do_id" ON "users" ("linux_do_id");
CREATE INDEX IF NOT EXISTS "idx_users_inviter_id" ON "users" ("inviter_id");
CREATE INDEX IF NOT EXISTS "idx_users_deleted_at" ON "users" ("deleted_at");
CREATE INDEX IF NOT EXISTS "idx_users_stripe_customer" ON "users" ("stripe_customer");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS "abilities" (
    "group" VARCHAR(64) NOT NULL,
    "model" VARCHAR(255) NOT NULL,
    "channel_id" BIGINT NOT NULL,
    "enabled" INT DEFAULT 0,
    "priority" BIGINT DEFAULT 0,
    "weight" BIGINT DEFAULT 0,
    "tag" VARCHAR(191),
    PRIMARY KEY ("group", "model", "channel_id")
);
CREATE INDEX IF NOT EXISTS "idx_abilities_channel_id" ON "abilities" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_abilities_priority" ON "abilities" ("priority");
CREATE INDEX IF NOT EXISTS "idx_abilities_weight" ON "abilities" ("weight");
CREATE INDEX IF NOT EXISTS "idx_abilities_tag" ON "abilities" ("tag");
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Never drop tables: they may belong to a new-api deployment that was adopted.
    return """SELECT 1;"""
