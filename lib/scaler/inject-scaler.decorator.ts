import { Inject } from '@nestjs/common';
import { SSS_SCALER } from '../sss.constants.js';

/** Injects the active `Scaler` (the embedded one unless `scaler` was configured). */
export const InjectScaler = (): ParameterDecorator & PropertyDecorator => Inject(SSS_SCALER);
