"""Aurora PostgreSQL Serverless v2: the single source of truth (runs, events, doorbell)."""

from __future__ import annotations

import string

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.settings import Settings

DATABASE_NAME = "aistudio"
DATABASE_PORT = 5432
# The newest 17.x this aws-cdk-lib knows (16 is flagged deprecated by cfn-lint).
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9


class DatabaseStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, vpc: ec2.IVpc, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        readers = [
            rds.ClusterInstance.serverless_v2(f"Reader{n + 1}", scale_with_writer=True)
            for n in range(settings.db_readers)
        ]
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            cluster_identifier=f"{settings.prefix}-db",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            readers=readers,
            serverless_v2_min_capacity=settings.db_min_acu,
            serverless_v2_max_capacity=settings.db_max_acu,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            port=DATABASE_PORT,
            default_database_name=DATABASE_NAME,
            # Letters and digits only: the entrypoint puts the password into DATABASE_URL.
            credentials=rds.Credentials.from_generated_secret(
                "aistudio",
                secret_name=f"aistudio/{settings.env_name.lower()}/database",
                exclude_characters=string.punctuation + " ",
            ),
            storage_encrypted=True,
            deletion_protection=True,
            # Point-in-time restore to any second of the retention window.
            backup=rds.BackupProps(
                retention=Duration.days(settings.backup_days), preferred_window="07:00-08:00"
            ),
            preferred_maintenance_window="sun:08:30-sun:09:30",
            # The Data API lets ops run docs/DEPLOYMENT.md's SQL (RDS query editor or
            # `aws rds-data execute-statement`) without a bastion into the isolated subnets.
            enable_data_api=True,
            cloudwatch_logs_exports=["postgresql"],
            cloudwatch_logs_retention=settings.log_retention,
            removal_policy=RemovalPolicy.SNAPSHOT,
        )
        assert self.cluster.secret is not None  # generated credentials always make one
        self.secret: secretsmanager.ISecret = self.cluster.secret
        CfnOutput(self, "ClusterIdentifier", value=self.cluster.cluster_identifier)
        CfnOutput(self, "ClusterArn", value=self.cluster.cluster_arn)  # for the Data API
        CfnOutput(self, "ClusterEndpoint", value=self.cluster.cluster_endpoint.hostname)
        CfnOutput(self, "DatabaseSecretArn", value=self.secret.secret_arn)
