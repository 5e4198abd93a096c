/** Float64 reference implementations used by the tests as ground truth. */

export * from './util';
export * from './conv';
export * from './batchnorm';
export * from './se';
export * from './pool';
export * from './linear';
export * from './loss';
export * from './sgd';
