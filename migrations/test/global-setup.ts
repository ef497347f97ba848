// Stops the run at once, saying what to start, when PostgreSQL or Redis does not answer.
import { requireTestServices } from '../src';

export default requireTestServices;
