import { Initial1795744045833 } from './1795744045833-Initial';
import { FusionProfileProvenance1795747505500 } from './1795747505500-FusionProfileProvenance';
import { CapacityPlanFusionProfile1795757762314 } from './1795757762314-CapacityPlanFusionProfile';
import { UploadedDocuments1796546624612 } from './1796546624612-UploadedDocuments';

/** Every migration, oldest first. A landed migration is never edited: add a new one. */
export const MIGRATIONS = [
  Initial1795744045833,
  FusionProfileProvenance1795747505500,
  CapacityPlanFusionProfile1795757762314,
  UploadedDocuments1796546624612,
];
