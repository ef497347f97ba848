// One thread of `kvplan fuse`'s layer pool (cli/src/fusion-threads.ts): libs/fusion's thread body,
// here so that the bundle has an entry file for it.
import { runLayerThread } from '@kvplan/fusion';

runLayerThread();
