"""Initial schema: new-api's tables, created only where missing (sqlite)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
CREATE TABLE IF NOT EXISTS "applied_log_settlements" (
    "id" VARCHAR(32) NOT NULL PRIMARY KEY,
    "created_at" BIGINT DEFAULT 0
);
CREATE INDEX IF NOT EXISTS "idx_applied_log_settlements_created_at" ON "applied_log_settlements" ("created_at");
CREATE TABLE IF NOT EXISTS "logs" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" BIGINT DEFAULT 0,
    "created_at" BIGINT DEFAULT 0,
    "type" BIGINT DEFAULT 0,
    "content" TEXT,
    "username" VARCHAR(191) DEFAULT '',
    "token_name" VARCHAR(191) DEFAULT '',
    "model_name" VARCHAR(191) DEFAULT '',
    "quota" BIGINT DEFAULT 0,
    "prompt_tokens" BIGINT DEFAULT 0,
    "completion_tokens" BIGINT DEFAULT 0,
    "use_time" BIGINT DEFAULT 0,
    "is_stream" INT DEFAULT 0,
    "channel_id" BIGINT DEFAULT 0,
    "channel_name" TEXT,
    "token_id" BIGINT DEFAULT 0,
    "group" VARCHAR(191) DEFAULT '',
    "ip" VARCHAR(191) DEFAULT '',
    "request_id" VARCHAR(64) DEFAULT '',
    "upstream_request_id" VARCHAR(128) DEFAULT '',
    "other" TEXT
);
CREATE INDEX IF NOT EXISTS "idx_logs_user_id" ON "logs" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_logs_username" ON "logs" ("username");
CREATE INDEX IF NOT EXISTS "idx_logs_token_name" ON "logs" ("token_name");
CREATE INDEX IF NOT EXISTS "idx_logs_model_name" ON "logs" ("model_name");
CREATE INDEX IF NOT EXISTS "idx_logs_channel_id" ON "logs" ("channel_id");
CREATE INDEX IF NOT EXISTS "idx_logs_token_id" ON "logs" ("token_id");
CREATE INDEX IF NOT EXISTS "idx_logs_group" ON "logs" ("group");
CREATE INDEX IF NOT EXISTS "idx_logs_ip" ON "logs" ("ip");
CREATE INDEX IF NOT EXISTS "idx_logs_request_id" ON "logs" ("request_id");
CREATE INDEX IF NOT EXISTS "idx_logs_upstream_request_id" ON "logs" ("upstream_request_id");
CREATE INDEX IF NOT EXISTS "idx_created_at_id" ON "logs" ("created_at", "id");
CREATE INDEX IF NOT EXISTS "idx_user_id_id" ON "logs" ("user_id", "id");
CREATE INDEX IF NOT EXISTS "idx_created_at_type" ON "logs" ("created_at", "type");
CREATE INDEX IF NOT EXISTS "index_username_model_name" ON "logs" ("model_name", "username");
"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    # Never drop tables: they may belong to a new-api deployment that was adopted.
    return """SELECT 1;"""
