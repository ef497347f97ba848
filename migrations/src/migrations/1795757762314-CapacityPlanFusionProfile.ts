import { MigrationInterface, QueryRunner } from 'typeorm';

// capacity_plans: the stored fusion profile the plan's points simulate with (nullable: no table
// rewrite; a deleted profile leaves the plan on the parametric one).

export class CapacityPlanFusionProfile1795757762314 implements MigrationInterface {
  name = 'CapacityPlanFusionProfile1795757762314';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "capacity_plans" ADD "fusion_profile_id" uuid`);
    await queryRunner.query(
      `ALTER TABLE "capacity_plans" ADD CONSTRAINT "FK_0fbf009e367b9a94e40e1280198" FOREIGN KEY ("fusion_profile_id") REFERENCES "fusion_profiles"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "capacity_plans" DROP CONSTRAINT "FK_0fbf009e367b9a94e40e1280198"`);
    await queryRunner.query(`ALTER TABLE "capacity_plans" DROP COLUMN "fusion_profile_id"`);
  }
}
