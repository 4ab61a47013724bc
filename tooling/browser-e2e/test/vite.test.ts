import { browserSuite } from '../src/suite';

browserSuite('vite');
