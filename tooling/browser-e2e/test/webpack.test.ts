import { browserSuite } from '../src/suite';

browserSuite('webpack');
