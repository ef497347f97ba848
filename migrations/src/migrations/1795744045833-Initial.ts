import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795744045833 implements MigrationInterface {
  name = 'Initial1795744045833';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "workspaces" ("id" uuid NOT NULL, "name" character varying(200) NOT NULL, "retention_days" integer, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_098656ae401f3e1a4586f47fd8e" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "name" character varying(200) NOT NULL, "key_hash" character(64) NOT NULL, "key_prefix" character varying(16) NOT NULL, "role" character varying(16) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_api_keys_workspace" ON "api_keys"  ("workspace_id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_api_keys_hash" ON "api_keys"  ("key_hash") `);
    await queryRunner.query(
      `CREATE TABLE "jobs" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "kind" character varying(16) NOT NULL, "subject_id" uuid NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'queued', "progress" double precision NOT NULL DEFAULT '0', "attempts" integer NOT NULL DEFAULT '0', "error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_cf0a6c42b72fcc7f7c237def345" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_jobs_status" ON "jobs"  ("status") `);
    await queryRunner.query(
      `CREATE INDEX "idx_jobs_workspace_created" ON "jobs"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "capacity_plans" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "mode" character varying(16) NOT NULL, "job_id" uuid NOT NULL, "spec" jsonb NOT NULL, "points" jsonb NOT NULL, "slo" jsonb, "result" jsonb, "result_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_29f311c0bc1f9ea60eaf4066981" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_capacity_plans_workspace_created" ON "capacity_plans"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "capacity_points" ("capacity_plan_id" uuid NOT NULL, "point_index" integer NOT NULL, "result" jsonb NOT NULL, CONSTRAINT "PK_b28a3b121d63d3b3017224e8edc" PRIMARY KEY ("capacity_plan_id", "point_index"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "deployments" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(200) NOT NULL, "description" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "spec" jsonb NOT NULL, CONSTRAINT "PK_1e5627acb3c950deb83fe98fc48" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_deployments_workspace_created" ON "deployments"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "fusion_configs" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(200) NOT NULL, "description" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "spec" jsonb NOT NULL, CONSTRAINT "PK_0fa9ec4f26b929c7a3811a9d55d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_fusion_configs_workspace_created" ON "fusion_configs"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "traces" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(200) NOT NULL, "format" character varying(16) NOT NULL, "storage_path" text NOT NULL, "size_bytes" bigint NOT NULL, "sha256" character(64) NOT NULL, "num_requests" integer NOT NULL, "tenants" jsonb NOT NULL DEFAULT '[]', CONSTRAINT "PK_a28bd8d9b09a77802bb18fbc2f5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_traces_workspace_created" ON "traces"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "workload_profiles" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(200) NOT NULL, "description" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "spec" jsonb NOT NULL, "trace_id" uuid, CONSTRAINT "PK_972c42796a68a9fc20bb1c958ca" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_workload_profiles_workspace_created" ON "workload_profiles"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "fusion_profiles" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "workload_profile_id" uuid NOT NULL, "fusion_config_id" uuid NOT NULL, "job_id" uuid NOT NULL, "source" character varying(16), "profile" jsonb, CONSTRAINT "PK_d0b95dd5b83a3eeaa6813893813" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_fusion_profiles_lookup" ON "fusion_profiles"  ("workspace_id", "workload_profile_id", "fusion_config_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "idempotency_keys" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "key" character varying(255) NOT NULL, "request_hash" character(64) NOT NULL, "state" character varying(16) NOT NULL, "response_status" integer, "response_body" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8ad20779ad0411107a56e53d0f6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "uq_idempotency_keys_workspace_key" ON "idempotency_keys"  ("workspace_id", "key") `,
    );
    await queryRunner.query(
      `CREATE TABLE "kv_samples" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(200) NOT NULL, "workload_profile_id" uuid, "storage_path" text NOT NULL, "size_bytes" bigint NOT NULL, "sha256" character(64) NOT NULL, "metadata" jsonb NOT NULL, CONSTRAINT "PK_9be10ee2987114f5e083594867a" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_kv_samples_workspace_created" ON "kv_samples"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "projections" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "workload_profile_id" uuid, "deployment_id" uuid, "fusion_config_id" uuid, "job_id" uuid NOT NULL, "spec" jsonb NOT NULL, "result" jsonb, "result_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_a510816cc1c13126a6664198331" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_projections_workspace_created" ON "projections"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "api_keys" ADD CONSTRAINT "FK_deb68fe8625b21785d1c48283e4" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "jobs" ADD CONSTRAINT "FK_58f07a7fbd5d546cc8ff788ea2d" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "capacity_plans" ADD CONSTRAINT "FK_f2aa533f27b384d5e401b7dbdb5" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "capacity_plans" ADD CONSTRAINT "FK_d1e0e449deedb0890290f610401" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "capacity_points" ADD CONSTRAINT "FK_5e2813d15c078177d74e5ffd893" FOREIGN KEY ("capacity_plan_id") REFERENCES "capacity_plans"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "deployments" ADD CONSTRAINT "FK_2aa61ef61fc263b94a6b771ea3f" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "fusion_configs" ADD CONSTRAINT "FK_567babcc6610a0998f270062f9d" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "traces" ADD CONSTRAINT "FK_7b846164606c3c763d17e4594c5" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "workload_profiles" ADD CONSTRAINT "FK_ca4dcf44d8e0adac2795a2d4061" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "workload_profiles" ADD CONSTRAINT "FK_90da3f662e3219dacb1447929b9" FOREIGN KEY ("trace_id") REFERENCES "traces"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "fusion_profiles" ADD CONSTRAINT "FK_25a1bdcd0025f15e5c5ea60d133" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "fusion_profiles" ADD CONSTRAINT "FK_b0ce74085601a3beaec3a23a693" FOREIGN KEY ("workload_profile_id") REFERENCES "workload_profiles"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "fusion_profiles" ADD CONSTRAINT "FK_cc9498ca594fed3c97cd9f12227" FOREIGN KEY ("fusion_config_id") REFERENCES "fusion_configs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "fusion_profiles" ADD CONSTRAINT "FK_5503c260587f76287319e85926e" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "idempotency_keys" ADD CONSTRAINT "FK_d91f6cda12b1b4864125fdc42f0" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "kv_samples" ADD CONSTRAINT "FK_538203e4b138ecf63f6542dfaf5" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "kv_samples" ADD CONSTRAINT "FK_52fda540dd4f1b73145d55df570" FOREIGN KEY ("workload_profile_id") REFERENCES "workload_profiles"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "projections" ADD CONSTRAINT "FK_2a50a40f5c4de6ef373039d73fb" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "projections" ADD CONSTRAINT "FK_171a70045075d43ca2815bdf9a0" FOREIGN KEY ("workload_profile_id") REFERENCES "workload_profiles"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "projections" ADD CONSTRAINT "FK_fa8a45d748176196cf40e6a6ef2" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "projections" ADD CONSTRAINT "FK_f5187df45d07d36c9609cc154ad" FOREIGN KEY ("fusion_config_id") REFERENCES "fusion_configs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "projections" ADD CONSTRAINT "FK_8b020dd203c4f52c910c95fcbb1" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "projections" DROP CONSTRAINT "FK_8b020dd203c4f52c910c95fcbb1"`);
    await queryRunner.query(`ALTER TABLE "projections" DROP CONSTRAINT "FK_f5187df45d07d36c9609cc154ad"`);
    await queryRunner.query(`ALTER TABLE "projections" DROP CONSTRAINT "FK_fa8a45d748176196cf40e6a6ef2"`);
    await queryRunner.query(`ALTER TABLE "projections" DROP CONSTRAINT "FK_171a70045075d43ca2815bdf9a0"`);
    await queryRunner.query(`ALTER TABLE "projections" DROP CONSTRAINT "FK_2a50a40f5c4de6ef373039d73fb"`);
    await queryRunner.query(`ALTER TABLE "kv_samples" DROP CONSTRAINT "FK_52fda540dd4f1b73145d55df570"`);
    await queryRunner.query(`ALTER TABLE "kv_samples" DROP CONSTRAINT "FK_538203e4b138ecf63f6542dfaf5"`);
    await queryRunner.query(
      `ALTER TABLE "idempotency_keys" DROP CONSTRAINT "FK_d91f6cda12b1b4864125fdc42f0"`,
    );
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP CONSTRAINT "FK_5503c260587f76287319e85926e"`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP CONSTRAINT "FK_cc9498ca594fed3c97cd9f12227"`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP CONSTRAINT "FK_b0ce74085601a3beaec3a23a693"`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP CONSTRAINT "FK_25a1bdcd0025f15e5c5ea60d133"`);
    await queryRunner.query(
      `ALTER TABLE "workload_profiles" DROP CONSTRAINT "FK_90da3f662e3219dacb1447929b9"`,
    );
    await queryRunner.query(
      `ALTER TABLE "workload_profiles" DROP CONSTRAINT "FK_ca4dcf44d8e0adac2795a2d4061"`,
    );
    await queryRunner.query(`ALTER TABLE "traces" DROP CONSTRAINT "FK_7b846164606c3c763d17e4594c5"`);
    await queryRunner.query(`ALTER TABLE "fusion_configs" DROP CONSTRAINT "FK_567babcc6610a0998f270062f9d"`);
    await queryRunner.query(`ALTER TABLE "deployments" DROP CONSTRAINT "FK_2aa61ef61fc263b94a6b771ea3f"`);
    await queryRunner.query(`ALTER TABLE "capacity_points" DROP CONSTRAINT "FK_5e2813d15c078177d74e5ffd893"`);
    await queryRunner.query(`ALTER TABLE "capacity_plans" DROP CONSTRAINT "FK_d1e0e449deedb0890290f610401"`);
    await queryRunner.query(`ALTER TABLE "capacity_plans" DROP CONSTRAINT "FK_f2aa533f27b384d5e401b7dbdb5"`);
    await queryRunner.query(`ALTER TABLE "jobs" DROP CONSTRAINT "FK_58f07a7fbd5d546cc8ff788ea2d"`);
    await queryRunner.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "FK_deb68fe8625b21785d1c48283e4"`);
    await queryRunner.query(`DROP INDEX "public"."idx_projections_workspace_created"`);
    await queryRunner.query(`DROP TABLE "projections"`);
    await queryRunner.query(`DROP INDEX "public"."idx_kv_samples_workspace_created"`);
    await queryRunner.query(`DROP TABLE "kv_samples"`);
    await queryRunner.query(`DROP INDEX "public"."uq_idempotency_keys_workspace_key"`);
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
    await queryRunner.query(`DROP INDEX "public"."idx_fusion_profiles_lookup"`);
    await queryRunner.query(`DROP TABLE "fusion_profiles"`);
    await queryRunner.query(`DROP INDEX "public"."idx_workload_profiles_workspace_created"`);
    await queryRunner.query(`DROP TABLE "workload_profiles"`);
    await queryRunner.query(`DROP INDEX "public"."idx_traces_workspace_created"`);
    await queryRunner.query(`DROP TABLE "traces"`);
    await queryRunner.query(`DROP INDEX "public"."idx_fusion_configs_workspace_created"`);
    await queryRunner.query(`DROP TABLE "fusion_configs"`);
    await queryRunner.query(`DROP INDEX "public"."idx_deployments_workspace_created"`);
    await queryRunner.query(`DROP TABLE "deployments"`);
    await queryRunner.query(`DROP TABLE "capacity_points"`);
    await queryRunner.query(`DROP INDEX "public"."idx_capacity_plans_workspace_created"`);
    await queryRunner.query(`DROP TABLE "capacity_plans"`);
    await queryRunner.query(`DROP INDEX "public"."idx_jobs_workspace_created"`);
    await queryRunner.query(`DROP INDEX "public"."idx_jobs_status"`);
    await queryRunner.query(`DROP TABLE "jobs"`);
    await queryRunner.query(`DROP INDEX "public"."uq_api_keys_hash"`);
    await queryRunner.query(`DROP INDEX "public"."idx_api_keys_workspace"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
    await queryRunner.query(`DROP TABLE "workspaces"`);
  }
}
