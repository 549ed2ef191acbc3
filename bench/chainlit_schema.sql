-- The tables ChainlitDataLayer (chainlit/data/chainlit_data_layer.py) reads and writes.
-- Written from the Prisma schema of Chainlit's data layer repository (Chainlit/chainlit-datalayer,
-- prisma/schema.prisma and its migrations), which `prisma migrate deploy` would apply; the
-- bench applies it with psql so it needs no Node.js. Indexes are the ones that schema declares,
-- no more: the comparison is against Chainlit's layer as shipped.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TYPE "StepType" AS ENUM (
    'assistant_message', 'embedding', 'llm', 'retrieval', 'rerank',
    'run', 'system_message', 'tool', 'undefined', 'user_message'
);

CREATE TABLE "User" (
    id           TEXT PRIMARY KEY DEFAULT gen_random_uuid(),
    "createdAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    metadata     JSONB NOT NULL,
    identifier   TEXT NOT NULL
);
CREATE UNIQUE INDEX "User_identifier_key" ON "User" (identifier);
CREATE INDEX "User_identifier_idx" ON "User" (identifier);

CREATE TABLE "Thread" (
    id           TEXT PRIMARY KEY DEFAULT gen_random_uuid(),
    "createdAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedAt"  TIMESTAMP(3),
    name         TEXT,
    metadata     JSONB NOT NULL,
    -- Added by a later migration of chainlit-datalayer; update_thread writes it when given tags.
    tags         TEXT[] DEFAULT ARRAY[]::TEXT[],
    "userId"     TEXT REFERENCES "User" (id) ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "Thread_createdAt_idx" ON "Thread" ("createdAt");
CREATE INDEX "Thread_name_idx" ON "Thread" (name);

CREATE TABLE "Step" (
    id           TEXT PRIMARY KEY DEFAULT gen_random_uuid(),
    "createdAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt"  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "parentId"   TEXT REFERENCES "Step" (id) ON DELETE CASCADE ON UPDATE CASCADE,
    "threadId"   TEXT REFERENCES "Thread" (id) ON DELETE CASCADE ON UPDATE CASCADE,
    input        TEXT,
    metadata     JSONB NOT NULL,
    name         TEXT,
    output       TEXT,
    type         "StepType" NOT NULL,
    "showInput"  TEXT DEFAULT 'json',
    "isError"    BOOLEAN DEFAULT false,
    "startTime"  TIMESTAMP(3) NOT NULL,
    "endTime"    TIMESTAMP(3) NOT NULL,
    "rootRunId"  TEXT REFERENCES "Step" (id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "Step_createdAt_idx" ON "Step" ("createdAt");
CREATE INDEX "Step_endTime_idx" ON "Step" ("endTime");
CREATE INDEX "Step_parentId_idx" ON "Step" ("parentId");
CREATE INDEX "Step_startTime_idx" ON "Step" ("startTime");
CREATE INDEX "Step_rootRunId_idx" ON "Step" ("rootRunId");
CREATE INDEX "Step_threadId_idx" ON "Step" ("threadId");
CREATE INDEX "Step_type_idx" ON "Step" (type);
CREATE INDEX "Step_name_idx" ON "Step" (name);
CREATE INDEX "Step_threadId_startTime_endTime_idx" ON "Step" ("threadId", "startTime", "endTime");

CREATE TABLE "Element" (
    id            TEXT PRIMARY KEY DEFAULT gen_random_uuid(),
    "createdAt"   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt"   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "threadId"    TEXT REFERENCES "Thread" (id) ON DELETE CASCADE ON UPDATE CASCADE,
    "stepId"      TEXT NOT NULL REFERENCES "Step" (id) ON DELETE CASCADE ON UPDATE CASCADE,
    metadata      JSONB NOT NULL,
    mime          TEXT,
    name          TEXT NOT NULL,
    "objectKey"   TEXT,
    url           TEXT,
    "chainlitKey" TEXT,
    display       TEXT,
    size          TEXT,
    language      TEXT,
    page          INTEGER,
    props         JSONB
);
CREATE INDEX "Element_stepId_idx" ON "Element" ("stepId");
CREATE INDEX "Element_threadId_idx" ON "Element" ("threadId");

CREATE TABLE "Feedback" (
    id            TEXT PRIMARY KEY DEFAULT gen_random_uuid(),
    "createdAt"   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt"   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stepId"      TEXT REFERENCES "Step" (id) ON DELETE SET NULL ON UPDATE CASCADE,
    name          TEXT NOT NULL,
    value         DOUBLE PRECISION NOT NULL,
    "valueLabel"  TEXT,
    comment       TEXT,
    scorer        TEXT
);
CREATE INDEX "Feedback_createdAt_idx" ON "Feedback" ("createdAt");
CREATE INDEX "Feedback_name_idx" ON "Feedback" (name);
CREATE INDEX "Feedback_stepId_idx" ON "Feedback" ("stepId");
CREATE INDEX "Feedback_value_idx" ON "Feedback" (value);
CREATE INDEX "Feedback_name_value_idx" ON "Feedback" (name, value);
