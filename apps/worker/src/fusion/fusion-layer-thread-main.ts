// One layer thread of a fusion job (layer-threads.ts): libs/fusion's thread body. The entry that
// thread-bundle.ts bundles for it.
import { runLayerThread } from '@kvplan/fusion';

runLayerThread();
