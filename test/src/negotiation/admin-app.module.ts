import { Module } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { SseModule } from '../../../src/index.js';
import { AdminModule } from './admin/admin.module.js';

/** AdminModule's routes prefixed with `admin` by RouterModule. */
@Module({
  imports: [
    SseModule.forRoot(),
    AdminModule,
    RouterModule.register([{ path: 'admin', module: AdminModule }]),
  ],
})
export class AdminAppModule {}
