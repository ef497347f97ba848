import { MigrationInterface, QueryRunner } from 'typeorm';

// model_configs and calibrations: documents a workspace uploads (a config.json, a kvplan-gpu-profile/1)
// that deployments name by id, so the service never reads a file a request names.

export class UploadedDocuments1796546624612 implements MigrationInterface {
  name = 'UploadedDocuments1796546624612';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "calibrations" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(200) NOT NULL, "description" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "spec" jsonb NOT NULL, CONSTRAINT "PK_862106016f7d55e70021555fd7d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_calibrations_workspace_created" ON "calibrations"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "model_configs" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(200) NOT NULL, "description" text, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "spec" jsonb NOT NULL, CONSTRAINT "PK_37b8d27a688c96443f78bdb3e3c" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_model_configs_workspace_created" ON "model_configs"  ("workspace_id", "created_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "calibrations" ADD CONSTRAINT "FK_68ae9695cb710fc0b1fd1fe371b" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "model_configs" ADD CONSTRAINT "FK_f73f30dce6142a148f20e857128" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "model_configs" DROP CONSTRAINT "FK_f73f30dce6142a148f20e857128"`);
    await queryRunner.query(`ALTER TABLE "calibrations" DROP CONSTRAINT "FK_68ae9695cb710fc0b1fd1fe371b"`);
    await queryRunner.query(`DROP INDEX "public"."idx_model_configs_workspace_created"`);
    await queryRunner.query(`DROP TABLE "model_configs"`);
    await queryRunner.query(`DROP INDEX "public"."idx_calibrations_workspace_created"`);
    await queryRunner.query(`DROP TABLE "calibrations"`);
  }
}
