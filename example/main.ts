import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule);
app.enableShutdownHooks();
const port = Number(process.env.PORT ?? 8080);
await app.listen(port, process.env.HOST ?? '0.0.0.0');
console.log(`Demo on http://127.0.0.1:${port}/ (page: http://127.0.0.1:${port}/demo)`);
