import { MigrationInterface, QueryRunner } from 'typeorm';

// fusion_profiles: the deployment shaping synthetic KV, the options asked for and what the job did.
// Columns are added nullable or with a constant default (no table rewrite); the new foreign key
// validates against a small table.

export class FusionProfileProvenance1795747505500 implements MigrationInterface {
  name = 'FusionProfileProvenance1795747505500';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "fusion_profiles" ADD "deployment_id" uuid`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" ADD "options" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" ADD "details" jsonb`);
    await queryRunner.query(
      `ALTER TABLE "fusion_profiles" ADD CONSTRAINT "FK_457556e8f59702c0529d3c7269c" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP CONSTRAINT "FK_457556e8f59702c0529d3c7269c"`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP COLUMN "details"`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP COLUMN "options"`);
    await queryRunner.query(`ALTER TABLE "fusion_profiles" DROP COLUMN "deployment_id"`);
  }
}
